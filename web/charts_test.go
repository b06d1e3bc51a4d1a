package web

import (
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// fakeStats is a StatsSource with the same samples for every app.
type fakeStats struct{ st slipway.AppStats }

func (f fakeStats) AppStats(app string) slipway.AppStats {
	st := f.st
	st.App = app
	return st
}

// busyHour is an hour of samples ending at t0: 2xx at 10/s, a burst of
// 5xx 20 minutes ago, p50 20ms and p95 80ms, a web type of 2 instances
// and a worker whose name tries to be markup; slipway was down for five
// minutes half an hour ago.
func busyHour() slipway.AppStats {
	st := slipway.AppStats{Every: 10 * time.Second, Window: time.Hour}
	for i := 359; i >= 0; i-- {
		at := t0.Add(-time.Duration(i) * 10 * time.Second)
		if ago := t0.Sub(at); ago > 30*time.Minute && ago < 35*time.Minute {
			continue
		}
		s := slipway.StatsSample{At: at, Seconds: 10, Requests: [5]uint64{0, 100, 3, 7, 0}, P50: 20 * time.Millisecond, P95: 80 * time.Millisecond,
			Processes: []slipway.ProcessUsage{
				{Type: "web", Instances: 2, Memory: 150 << 20, CPU: .25, CPUKnown: true},
				{Type: `<script>alert("w")</script>`, Instances: 1, Memory: 40 << 20, CPU: .05, CPUKnown: true},
			}}
		if ago := t0.Sub(at); ago >= 20*time.Minute && ago < 21*time.Minute {
			s.Requests[4] = 12
		}
		st.Samples = append(st.Samples, s)
	}
	return st
}

func statsHandler(t *testing.T, st slipway.AppStats) *Handler {
	t.Helper()
	h := New(Config{Backend: newFakeBackend(), Token: testToken, Logger: slog.New(slog.DiscardHandler), Stats: fakeStats{st}})
	h.now = func() time.Time { return t0 }
	return h
}

// section returns the charts section of an app page.
func section(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `<section id="charts"`)
	if i < 0 {
		t.Fatalf("the app page has no charts section")
	}
	j := strings.Index(body[i:], "</section>")
	return body[i : i+j]
}

func TestAppPage_DrawsTheLastHour(t *testing.T) {
	h := statsHandler(t, busyHour())
	w := h.do(req{path: "/apps/hello", bearer: testToken})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /apps/hello = %d\n%s", w.Code, w.Body)
	}
	charts := section(t, w.Body.String())
	for _, want := range []string{
		`<h2 id="charts-heading">Last hour`,
		`data-refresh="10"`,
		`<figure class="chart" data-chart="requests">`,
		`<span class="chart-title">Requests per second</span>`,
		`<li class="s2xx"><span class="swatch" aria-hidden="true"></span>2xx <b>10/s</b></li>`,
		`<li class="s4xx"><span class="swatch" aria-hidden="true"></span>4xx <b>0.7/s</b></li>`,
		`p50 <b>20 ms</b>`, `p95 <b>80 ms</b>`,
		`5xx <b>0 now, 72 in the last hour</b>`,
		`web <b>150M (2 instances)</b>`, `web <b>25%</b>`,
		`role="img" aria-label="Requests per second, last hour: 2xx 10/s; 3xx 0.3/s; 4xx 0.7/s; 5xx 0/s"`,
		`<title>Upstream latency (ms), last hour: p50 20 ms; p95 80 ms</title>`,
		`text-anchor="start">-60m</text>`, `text-anchor="middle">-30m</text>`, `text-anchor="end">now</text>`,
		`&lt;script&gt;alert(&#34;w&#34;)&lt;/script&gt; <b>40M</b>`, // escaped in the legend
	} {
		if !strings.Contains(charts, want) {
			t.Errorf("the charts lack %s", want)
		}
	}
	if n := strings.Count(charts, "<svg "); n != 5 {
		t.Errorf("%d charts, want 5", n)
	}
	// No script, no inline style (the CSP allows neither), no markup
	// from a process type's name.
	for _, bad := range []string{"<script", "style=", "javascript:", `alert("w")`} {
		if strings.Contains(charts, bad) {
			t.Errorf("the charts hold %q", bad)
		}
	}
	// The lines: 2xx breaks where slipway was down, so two pieces; the
	// 5xx bars are six, a minute's worth.
	d := regexp.MustCompile(`<path class="line s2xx" d="([^"]*)"`).FindStringSubmatch(charts)
	if d == nil || strings.Count(d[1], "M") != 2 {
		t.Errorf("the 2xx line: %v, want two pieces around the gap", d)
	}
	bars := regexp.MustCompile(`<path class="bars s5xx" d="([^"]*)"`).FindStringSubmatch(charts)
	if bars == nil || strings.Count(bars[1], "M") != 6 {
		t.Errorf("the 5xx bars: %v, want 6", bars)
	}
	// Every coordinate lies within the viewBox.
	for _, m := range regexp.MustCompile(`[ML](-?[0-9.]+) (-?[0-9.]+)`).FindAllStringSubmatch(charts, -1) {
		if x, y := m[1], m[2]; strings.HasPrefix(x, "-") || strings.HasPrefix(y, "-") || len(strings.Split(x, ".")[0]) > 3 || len(strings.Split(y, ".")[0]) > 3 {
			t.Errorf("a point out of the chart: %s", m[0])
		}
	}
}

func TestAppPage_ChartsSayWhyTheyAreEmpty(t *testing.T) {
	quiet := slipway.AppStats{Every: 10 * time.Second, Window: time.Hour}
	for i := range 3 {
		quiet.Samples = append(quiet.Samples, slipway.StatsSample{At: t0.Add(-time.Duration(i) * 10 * time.Second), Seconds: 10})
	}
	for _, tc := range []struct {
		name  string
		st    slipway.AppStats
		wants []string
	}{
		{"no sample yet", slipway.AppStats{Every: 10 * time.Second, Window: time.Hour},
			[]string{`No samples yet: slipway samples every 10s.`}},
		{"no request and no process", quiet, []string{
			`<text class="empty" x="258.0" y="83.0" text-anchor="middle">no requests in the last hour</text>`,
			`aria-label="Requests per second: no requests in the last hour"`,
			`no process ran in the last hour</text>`,
		}},
		{"a shorter window", slipway.AppStats{Every: time.Second, Window: 6 * time.Minute,
			Samples: []slipway.StatsSample{{At: t0, Seconds: 1, Requests: [5]uint64{0, 3}}}}, []string{
			`Last 6 minutes`, `>-6m</text>`, `>-90s</text>`, `no response in the last 6 minutes`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := statsHandler(t, tc.st).do(req{path: "/apps/hello", bearer: testToken})
			charts := section(t, w.Body.String())
			for _, want := range tc.wants {
				if !strings.Contains(charts, want) {
					t.Errorf("the charts lack %s:\n%s", want, charts)
				}
			}
		})
	}
}

// Without Config.Stats the pages draw nothing.
func TestPages_NoChartsWithoutStats(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	for _, path := range []string{"/", "/apps/hello"} {
		body := h.do(req{path: path, bearer: testToken}).Body.String()
		if strings.Contains(body, "<svg") || strings.Contains(body, `id="charts"`) || strings.Contains(body, "<th>Requests</th>") {
			t.Errorf("%s has charts without a stats source", path)
		}
	}
}
