package metrics

import (
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

// Each drain's counts are reported by app and id, never by URL.
func TestMetrics_LogDrains(t *testing.T) {
	m := New(fakeSource{})
	m.WatchLogDrains(func() []slipway.LogDrain {
		return []slipway.LogDrain{
			{App: "shop", ID: "3f2a9c1d", URL: "https://***@logs.example.com/x?***", State: slipway.DrainConnected, Sent: 1234, Dropped: 5, Queued: 2},
			{App: "blog", ID: "0badf00d", URL: "syslog://logs.example.com:514", State: slipway.DrainRetrying, Dropped: 10000, Queued: 10000},
		}
	})
	body := scrape(t, m)
	for _, want := range []string{
		`slipway_log_drain_sent_total{app="shop",drain="3f2a9c1d"} 1234`,
		`slipway_log_drain_dropped_total{app="shop",drain="3f2a9c1d"} 5`,
		`slipway_log_drain_dropped_total{app="blog",drain="0badf00d"} 10000`,
		`slipway_log_drain_queued{app="blog",drain="0badf00d"} 10000`,
		`slipway_log_drain_up{app="shop",drain="3f2a9c1d"} 1`,
		`slipway_log_drain_up{app="blog",drain="0badf00d"} 0`,
		"# TYPE slipway_log_drain_dropped_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "logs.example.com") {
		t.Error("metrics name a drain's URL")
	}
}
