package web

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// How the charts and sparklines are drawn: points on a frame, axes with
// round numbers, and the words of their labels.

// num prints an SVG coordinate with one decimal.
type num float64

func (n num) String() string { return strconv.FormatFloat(float64(n), 'f', 1, 64) }

// frame maps the samples' times and values onto a plot: the rectangle
// from (left, top) to (right, bottom) of a viewBox, the window ending at
// now across it, 0 to peak up it.
type frame struct {
	now                      time.Time
	window                   time.Duration
	peak                     float64
	left, top, right, bottom float64
}

// chartFrame is the frame of a chart's plot.
func chartFrame(now time.Time, window time.Duration, peak float64) frame {
	return frame{now: now, window: window, peak: peak, left: plotLeft, top: plotTop, right: chartW - plotRight, bottom: chartH - plotBottom}
}

func (f frame) x(t time.Time) float64 {
	return f.left + (f.right-f.left)*(1-float64(f.now.Sub(t))/float64(f.window))
}

func (f frame) y(v float64) float64 {
	return f.top + (f.bottom-f.top)*(1-math.Min(v/f.peak, 1))
}

// line draws value over the samples: a path broken where a sample has no
// value or is a gap after the previous one. It returns the path and the
// latest value.
func (d drawing) line(f frame, value func(slipway.StatsSample) (float64, bool)) (string, float64, bool) {
	var b strings.Builder
	var prev time.Time
	var latest float64
	have, open := false, false
	for _, s := range d.samples {
		v, ok := value(s)
		if !ok {
			open = false
			continue
		}
		if open && s.At.Sub(prev) > d.gap {
			open = false
		}
		x, y := num(f.x(s.At)), num(f.y(v))
		if open {
			b.WriteString(" L" + x.String() + " " + y.String())
		} else {
			// "h0": a lone point still shows, as a dot (round caps).
			b.WriteString(" M" + x.String() + " " + y.String() + " h0")
		}
		prev, latest, have, open = s.At, v, true, true
	}
	return strings.TrimSpace(b.String()), latest, have
}

// frameFor returns the frame whose top is a round number above every
// value, and the y-axis ticks labelled by format.
func (d drawing) frameFor(peak float64, format func(float64) string) (frame, []tick) {
	top := niceCeil(peak * 1.05) // a line at the peak stays clear of the top
	f := chartFrame(d.now, d.window, top)
	var ticks []tick
	for _, v := range []float64{0, top / 2, top} {
		y := num(f.y(v))
		label := "0"
		if v > 0 {
			label = format(v)
		}
		ticks = append(ticks, tick{X1: plotLeft, Y1: y, X2: chartW - plotRight, Y2: y, TX: plotLeft - 6, TY: y + 4, Label: label, Anchor: "end"})
	}
	return f, ticks
}

// xTicks are the time axis's labels: -60m, -45m, -30m, -15m, now.
func (d drawing) xTicks() []tick {
	var ticks []tick
	for i := 0; i <= 4; i++ {
		ago := d.window * time.Duration(4-i) / 4
		x := num(plotLeft + (chartW-plotLeft-plotRight)*float64(i)/4)
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		ticks = append(ticks, tick{X1: x, Y1: chartH - plotBottom, X2: x, Y2: chartH - plotBottom + 4, TX: x, TY: chartH - 6, Label: agoLabel(ago), Anchor: anchor})
	}
	return ticks
}

// niceCeil is the round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8
// times a power of ten) at or above v; 1 for nothing.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	e := math.Floor(math.Log10(v))
	scale := func(m float64) float64 { // 3 / 10, not 3 * 0.1: axis labels stay short
		if e < 0 {
			return m / math.Pow(10, -e)
		}
		return m * math.Pow(10, e)
	}
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8} {
		if scale(m) >= v*(1-1e-9) {
			return scale(m)
		}
	}
	return scale(10)
}

// shortNumber prints v as an axis or a legend says it: 0, 0.25, 3.1,
// 12.5, 450, 1.2k, 3.4M.
func shortNumber(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1e6:
		return trim(strconv.FormatFloat(v/1e6, 'f', 1, 64)) + "M"
	case a >= 1e3:
		return trim(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return trim(strconv.FormatFloat(v, 'f', 1, 64))
	case a >= 0.01:
		return trim(strconv.FormatFloat(v, 'f', 2, 64))
	}
	return trim(strconv.FormatFloat(v, 'f', 3, 64))
}

// trim drops the zeros a fixed precision left after the point.
func trim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// byteUnit is the unit of an axis whose top is peak bytes: K, M or G.
func byteUnit(peak float64) (float64, string) {
	switch {
	case peak >= 1<<30:
		return 1 << 30, "G"
	case peak >= 1<<20:
		return 1 << 20, "M"
	}
	return 1 << 10, "K"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func instancesText(n int) string {
	if n == 1 {
		return ""
	}
	return " (" + strconv.Itoa(n) + " instances)"
}

// windowText says a window in words: "hour", "6 minutes".
func windowText(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	case d >= time.Second:
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + " seconds"
	}
	return d.String()
}

// agoLabel is a time-axis label: "now", "-15m", "-90s".
func agoLabel(d time.Duration) string {
	switch {
	case d == 0:
		return "now"
	case d%time.Minute == 0:
		return "-" + strconv.Itoa(int(d/time.Minute)) + "m"
	case d >= time.Second:
		return "-" + strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s"
	}
	return "-" + d.String()
}
