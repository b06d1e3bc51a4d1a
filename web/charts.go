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

// Geometry of the plot, shared by every chart. W and H are the viewBox's.
func (chart) W() num    { return chartW }
func (chart) H() num    { return chartH }
func (chart) MidX() num { return plotLeft + (chartW-plotLeft-plotRight)/2 }
func (chart) MidY() num { return plotTop + (chartH-plotTop-plotBottom)/2 }

// chartsFor draws st's charts as the page shows them at now.
func chartsFor(st slipway.AppStats, now time.Time) *chartsView {
	d := newDrawing(st, now)
	v := &chartsView{Heading: "Last " + d.span, Refresh: max(int(st.Every/time.Second), 2),
		Note: "sampled by slipway every " + st.Every.String() + "; Prometheus scrapes /metrics"}
	if len(d.samples) == 0 {
		v.Empty = "No samples yet: slipway samples every " + st.Every.String() + "."
		return v
	}
	v.Charts = []chart{d.requests(), d.latency(), d.errors(), d.memory(), d.cpu()}
	return v
}

// drawing is the samples of one window, drawn chart by chart.
type drawing struct {
	samples []slipway.StatsSample // those of the window, oldest first
	now     time.Time
	window  time.Duration
	every   time.Duration // the sampling period
	gap     time.Duration // a sample further than this from the one before follows a gap
	span    string        // the window in words: "hour"
}

// newDrawing is st's samples of the window that ends at now.
func newDrawing(st slipway.AppStats, now time.Time) drawing {
	d := drawing{now: now, window: st.Window, every: st.Every,
		// slipway was not sampling: no line across the gap.
		gap: st.Every*2 + st.Every/2}
	if d.window <= 0 {
		d.window = time.Hour
	}
	d.span = windowText(d.window)
	for _, s := range st.Samples {
		if ago := now.Sub(s.At); ago >= 0 && ago <= d.window {
			d.samples = append(d.samples, s)
		}
	}
	return d
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
