package web

import (
	"testing"
	"time"
)

func TestChartDraw_RoundScalesAndShortLabels(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 0.3: .3, 0.35: .4, 1: 1, 1.1: 1.2, 1.3: 1.5, 2.1: 2.5, 3: 3, 7: 8, 9: 10, 11: 12, 180: 200, 230: 250, 1e6: 1e6} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%g) = %g, want %g", v, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0", 0.005: "0.005", 0.25: "0.25", 3.14159: "3.1", 4.99: "5", 12.5: "12.5", 450: "450", 1260: "1.3k", 2e6: "2M"} {
		if got := shortNumber(v); got != want {
			t.Errorf("shortNumber(%g) = %q, want %q", v, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "now", 15 * time.Minute: "-15m", 90 * time.Second: "-90s"} {
		if got := agoLabel(d); got != want {
			t.Errorf("agoLabel(%s) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{time.Hour: "hour", 2 * time.Hour: "2 hours", 6 * time.Minute: "6 minutes", 36 * time.Second: "36 seconds"} {
		if got := windowText(d); got != want {
			t.Errorf("windowText(%s) = %q, want %q", d, got, want)
		}
	}
}
