package web

import (
	"math"
	"time"

	"github.com/slipway/slipway"
)

// sparkView is the apps list's sparkline of an app's requests per second.
type sparkView struct {
	D      string
	Latest string // "3.2/s"
	Label  string
	Quiet  bool // no request in the window
}

// Spark dimensions, in its viewBox (templates/charts.html).
const sparkW, sparkH = 100.0, 24.0

// sparkFor draws st's requests per second, all classes together.
func sparkFor(st slipway.AppStats, now time.Time) *sparkView {
	d := newDrawing(st, now)
	peak := 0.0
	for _, s := range d.samples {
		peak = math.Max(peak, s.Rate(-1))
	}
	f := frame{now: now, window: d.window, peak: niceCeil(peak * 1.05), left: 1, top: 1, right: sparkW - 1, bottom: sparkH - 1}
	path, latest, _ := d.line(f, func(s slipway.StatsSample) (float64, bool) { return s.Rate(-1), s.Seconds > 0 })
	v := &sparkView{D: path, Latest: shortNumber(latest) + "/s", Quiet: !d.requested()}
	v.Label = "Requests per second over the last " + d.span + ": " + v.Latest + " now, at most " + shortNumber(peak) + "/s"
	if v.Quiet {
		v.Label, v.Latest = "No requests in the last "+d.span, "—"
	}
	return v
}
