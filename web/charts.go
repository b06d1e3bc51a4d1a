package web

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// StatsSource is what the charts are drawn from: package stats's Sampler,
// which cmd/slipway hands to the Handler.
type StatsSource interface {
	// AppStats returns an app's samples of the last hour, oldest first.
	AppStats(app string) slipway.AppStats
}

// The charts are inline SVG drawn here, without a script: html/template
// escapes every name in them, and their colours are classes of
// style.css (the CSP allows no inline style). Each is a viewBox of
// chartW × chartH, the plot inside its margins.
const (
	chartW, chartH                           = 480.0, 180.0
	plotLeft, plotRight, plotTop, plotBottom = 46.0, 10.0, 10.0, 24.0
	maxDrawnTypes                            = 8 // t0 … t7 in style.css
)

// chartsView is the app page's charts section.
type chartsView struct {
	Heading string // "Last hour"
	Note    string // how it was sampled
	Empty   string // no sample at all yet: said instead of the charts
	Refresh int    // seconds between redraws by app.js
	Charts  []chart
}

// chart is one SVG chart with its title and legend.
type chart struct {
	ID, Title string
	Label     string // its summary for aria-label and <title>
	Empty     string // drawn in place of the lines: "no requests in the last hour"
	Series    []series
	Bars      *series // the 5xx chart's bars
	YTicks    []tick
	XTicks    []tick
}

// series is one line (or the bars) of a chart and its legend entry.
type series struct {
	Name, Class string
	D           string // the SVG path
	Latest      string // its latest value, for the legend
}

// tick is a grid line with its label.
type tick struct {
	X1, Y1, X2, Y2 num
	TX, TY         num // where its label is
	Label, Anchor  string
}

// num prints an SVG coordinate with one decimal.
type num float64

func (n num) String() string { return strconv.FormatFloat(float64(n), 'f', 1, 64) }

// Geometry of the plot, shared by every chart. W and H are the viewBox's.
func (chart) W() num        { return chartW }
func (chart) H() num        { return chartH }
func (chart) MidX() num     { return plotLeft + (chartW-plotLeft-plotRight)/2 }
func (chart) MidY() num     { return plotTop + (chartH-plotTop-plotBottom)/2 }
func (chart) PlotLeft() num { return plotLeft }

// frame maps the samples' times and values onto the plot.
type frame struct {
	now    time.Time
	window time.Duration
	top    float64 // the value at the top of the plot
}

func (f frame) x(t time.Time) float64 {
	w := chartW - plotLeft - plotRight
	return plotLeft + w*(1-float64(f.now.Sub(t))/float64(f.window))
}

func (f frame) y(v float64) float64 {
	h := chartH - plotTop - plotBottom
	return plotTop + h*(1-math.Min(v/f.top, 1))
}

// chartsFor draws st's charts as the page shows them at now.
func chartsFor(st slipway.AppStats, now time.Time) *chartsView {
	window := st.Window
	if window <= 0 {
		window = time.Hour
	}
	span := windowText(window)
	v := &chartsView{Heading: "Last " + span, Refresh: max(int(st.Every/time.Second), 2),
		Note: "sampled by slipway every " + st.Every.String() + "; Prometheus scrapes /metrics"}
	var samples []slipway.StatsSample
	for _, s := range st.Samples {
		if d := now.Sub(s.At); d >= 0 && d <= window {
			samples = append(samples, s)
		}
	}
	if len(samples) == 0 {
		v.Empty = "No samples yet: slipway samples every " + st.Every.String() + "."
		return v
	}
	// A sample further than this from the one before is a gap (slipway
	// was not running), not a line across it.
	gap := st.Every*2 + st.Every/2
	d := drawing{samples: samples, now: now, window: window, every: st.Every, gap: gap, span: span}
	v.Charts = []chart{d.requests(), d.latency(), d.errors(), d.memory(), d.cpu()}
	return v
}

// drawing is the samples of one window, drawn chart by chart.
type drawing struct {
	samples []slipway.StatsSample
	now     time.Time
	window  time.Duration
	every   time.Duration // the sampling period
	gap     time.Duration
	span    string // "hour"
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
	f := frame{now: d.now, window: d.window, top: top}
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

// requested reports whether any sample counted a request.
func (d drawing) requested() bool {
	for _, s := range d.samples {
		if s.Total() > 0 {
			return true
		}
	}
	return false
}

var classNames = [5]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// requests is the requests per second by status class, a line each (1xx
// only when there were some: a WebSocket's 101).
func (d drawing) requests() chart {
	c := chart{ID: "requests", Title: "Requests per second", XTicks: d.xTicks()}
	peak := 0.0
	ones := false
	for _, s := range d.samples {
		for i := range classNames {
			peak = math.Max(peak, s.Rate(i))
		}
		ones = ones || s.Requests[0] > 0
	}
	f, yt := d.frameFor(peak, shortNumber)
	c.YTicks = yt
	if !d.requested() {
		return d.empty(c, "no requests in the last "+d.span)
	}
	for i, name := range classNames {
		if i == 0 && !ones {
			continue
		}
		path, latest, _ := d.line(f, func(s slipway.StatsSample) (float64, bool) { return s.Rate(i), s.Seconds > 0 })
		c.Series = append(c.Series, series{Name: name, Class: "s" + name, D: path, Latest: shortNumber(latest) + "/s"})
	}
	return d.summed(c)
}

// latency is the p50 and p95 upstream latency in milliseconds.
func (d drawing) latency() chart {
	c := chart{ID: "latency", Title: "Upstream latency (ms)", XTicks: d.xTicks()}
	peak := 0.0
	answered := false
	for _, s := range d.samples {
		peak = math.Max(peak, ms(s.P95))
		answered = answered || s.P50 > 0
	}
	f, yt := d.frameFor(peak, shortNumber)
	c.YTicks = yt
	if !answered {
		if d.requested() {
			return d.empty(c, "no response in the last "+d.span)
		}
		return d.empty(c, "no requests in the last "+d.span)
	}
	for _, p := range []struct {
		name string
		of   func(slipway.StatsSample) time.Duration
	}{{"p50", func(s slipway.StatsSample) time.Duration { return s.P50 }}, {"p95", func(s slipway.StatsSample) time.Duration { return s.P95 }}} {
		path, latest, _ := d.line(f, func(s slipway.StatsSample) (float64, bool) { return ms(p.of(s)), p.of(s) > 0 })
		c.Series = append(c.Series, series{Name: p.name, Class: "s" + p.name, D: path, Latest: shortNumber(latest) + " ms"})
	}
	return d.summed(c)
}

// errors is the 5xx responses of each period, as bars.
func (d drawing) errors() chart {
	c := chart{ID: "errors", Title: "5xx responses per " + d.every.String(), XTicks: d.xTicks()}
	peak, total := 0.0, uint64(0)
	var last uint64
	for _, s := range d.samples {
		peak = math.Max(peak, float64(s.Requests[4]))
		total += s.Requests[4]
		if s.Seconds > 0 {
			last = s.Requests[4]
		}
	}
	f, yt := d.frameFor(math.Max(peak, 2), shortNumber)
	c.YTicks = yt
	if !d.requested() {
		return d.empty(c, "no requests in the last "+d.span)
	}
	var b strings.Builder
	for _, s := range d.samples {
		if s.Seconds > 0 && s.Requests[4] > 0 {
			b.WriteString(" M" + num(f.x(s.At)).String() + " " + num(f.y(0)).String() + " V" + num(f.y(float64(s.Requests[4]))).String())
		}
	}
	c.Bars = &series{Name: "5xx", Class: "s5xx", D: strings.TrimSpace(b.String()),
		Latest: strconv.FormatUint(last, 10) + " now, " + strconv.FormatUint(total, 10) + " in the last " + d.span}
	c.Series = []series{*c.Bars}
	return d.summed(c)
}

// types are the process types in the samples, sorted (as each sample's
// are), at most maxDrawnTypes.
func (d drawing) types() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range d.samples {
		for _, p := range s.Processes {
			if !seen[p.Type] {
				seen[p.Type] = true
				out = append(out, p.Type)
			}
		}
	}
	slices.Sort(out)
	return out[:min(len(out), maxDrawnTypes)]
}

// usage of typ in s, if it ran then.
func usageOf(s slipway.StatsSample, typ string) (slipway.ProcessUsage, bool) {
	for _, p := range s.Processes {
		if p.Type == typ {
			return p, true
		}
	}
	return slipway.ProcessUsage{}, false
}

// memory is each process type's memory, its instances together.
func (d drawing) memory() chart {
	c := chart{ID: "memory", Title: "Memory per process type", XTicks: d.xTicks()}
	peak := 0.0
	for _, s := range d.samples {
		for _, p := range s.Processes {
			peak = math.Max(peak, float64(p.Memory))
		}
	}
	unit, suffix := byteUnit(peak)
	f, yt := d.frameFor(peak/unit, func(v float64) string { return shortNumber(v) + suffix })
	c.YTicks = yt
	types := d.types()
	if len(types) == 0 {
		return d.empty(c, "no process ran in the last "+d.span)
	}
	for i, typ := range types {
		path, _, _ := d.line(f, func(s slipway.StatsSample) (float64, bool) {
			p, ok := usageOf(s, typ)
			return float64(p.Memory) / unit, ok
		})
		latest := "not running"
		if p, ok := usageOf(d.samples[len(d.samples)-1], typ); ok {
			latest = slipway.HumanBytes(p.Memory) + instancesText(p.Instances)
		}
		c.Series = append(c.Series, series{Name: typ, Class: "t" + strconv.Itoa(i), D: path, Latest: latest})
	}
	return d.summed(c)
}

// cpu is each process type's CPU, in percent of one core.
func (d drawing) cpu() chart {
	c := chart{ID: "cpu", Title: "CPU per process type (% of one core)", XTicks: d.xTicks()}
	peak := 0.0
	for _, s := range d.samples {
		for _, p := range s.Processes {
			peak = math.Max(peak, p.CPU*100)
		}
	}
	pct := func(v float64) string { return shortNumber(v) + "%" }
	f, yt := d.frameFor(peak, pct)
	c.YTicks = yt
	types := d.types()
	if len(types) == 0 {
		return d.empty(c, "no process ran in the last "+d.span)
	}
	for i, typ := range types {
		path, _, _ := d.line(f, func(s slipway.StatsSample) (float64, bool) {
			p, ok := usageOf(s, typ)
			return p.CPU * 100, ok && p.CPUKnown
		})
		latest := "not running"
		if p, ok := usageOf(d.samples[len(d.samples)-1], typ); ok {
			latest = "—"
			if p.CPUKnown {
				latest = pct(p.CPU * 100)
			}
		}
		c.Series = append(c.Series, series{Name: typ, Class: "t" + strconv.Itoa(i), D: path, Latest: latest})
	}
	return d.summed(c)
}

// empty is c saying why it has no line.
func (d drawing) empty(c chart, why string) chart {
	c.Empty = why
	c.Label = c.Title + ": " + why
	for i := range c.YTicks {
		c.YTicks[i].Label = "" // a scale of nothing
	}
	return c
}

// summed is c with its summary: the title, the window and each series'
// latest value.
func (d drawing) summed(c chart) chart {
	parts := make([]string, len(c.Series))
	for i, s := range c.Series {
		parts[i] = s.Name + " " + s.Latest
	}
	c.Label = c.Title + ", last " + d.span + ": " + strings.Join(parts, "; ")
	return c
}

// sparkView is the apps list's sparkline of an app's requests per second.
type sparkView struct {
	D      string
	Latest string // "3.2/s"
	Label  string
	Quiet  bool // no request in the window
}

// Spark dimensions, in its viewBox.
const sparkW, sparkH = 100.0, 24.0

// sparkFor draws st's requests per second, all classes together.
func sparkFor(st slipway.AppStats, now time.Time) *sparkView {
	window := st.Window
	if window <= 0 {
		window = time.Hour
	}
	var samples []slipway.StatsSample
	peak := 0.0
	for _, s := range st.Samples {
		if d := now.Sub(s.At); d >= 0 && d <= window {
			samples = append(samples, s)
			peak = math.Max(peak, s.Rate(-1))
		}
	}
	d := drawing{samples: samples, now: now, window: window, gap: st.Every*2 + st.Every/2, span: windowText(window)}
	top := niceCeil(peak)
	var b strings.Builder
	var latest float64
	var prev time.Time
	open := false
	for _, s := range samples {
		if s.Seconds <= 0 || (open && s.At.Sub(prev) > d.gap) {
			open = false
			if s.Seconds <= 0 {
				continue
			}
		}
		x := num(1 + (sparkW-2)*(1-float64(now.Sub(s.At))/float64(window)))
		y := num(1 + (sparkH-2)*(1-s.Rate(-1)/top))
		if open {
			b.WriteString(" L" + x.String() + " " + y.String())
		} else {
			b.WriteString(" M" + x.String() + " " + y.String() + " h0")
		}
		prev, latest, open = s.At, s.Rate(-1), true
	}
	v := &sparkView{D: strings.TrimSpace(b.String()), Latest: shortNumber(latest) + "/s", Quiet: !d.requested()}
	v.Label = "Requests per second over the last " + d.span + ": " + v.Latest + " now, at most " + shortNumber(peak) + "/s"
	if v.Quiet {
		v.Label, v.Latest = "No requests in the last "+d.span, "—"
	}
	return v
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
