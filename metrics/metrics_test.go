package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeSource []AppPools

func (f fakeSource) Pools() []AppPools { return f }

func TestMetrics_ServesWhatWasRecorded(t *testing.T) {
	m := New(fakeSource{{App: "shop", Live: 1, Draining: 2, LiveInstances: 3, DrainingInstances: 4}})
	m.Upstream("shop", 200, 3*time.Millisecond)
	m.Upstream("shop", 204, time.Millisecond)
	m.Upstream("shop", 502, 0)
	m.Deploy(true, 2*time.Second)
	m.Deploy(false, time.Second)
	m.Restart("shop")
	m.Sleep("shop")
	m.Wake("shop", 250*time.Millisecond)
	m.WatchProxyErrors(func() ProxyErrors {
		return ProxyErrors{UpstreamReset: 1, UpstreamMalformed: 2, UnsolicitedResponse: 3, FramingRefused: 4}
	})
	body := scrape(t, m)
	for _, want := range []string{
		`slipway_http_requests_total{app="shop",code="2xx"} 2`,
		`slipway_http_requests_total{app="shop",code="5xx"} 1`,
		`slipway_upstream_duration_seconds_count{app="shop"} 2`,
		`slipway_deploys_total{result="ok"} 1`,
		`slipway_deploys_total{result="failed"} 1`,
		`slipway_build_duration_seconds_count 2`,
		`slipway_instance_restarts_total{app="shop"} 1`,
		`slipway_pool_sleeps_total{app="shop"} 1`,
		`slipway_pool_wakes_total{app="shop"} 1`,
		`slipway_pool_wake_duration_seconds_bucket{le="0.3"} 1`,
		`slipway_proxy_errors_total{kind="upstream_reset"} 1`,
		`slipway_proxy_errors_total{kind="upstream_malformed"} 2`,
		`slipway_proxy_errors_total{kind="unsolicited_response"} 3`,
		`slipway_proxy_errors_total{kind="framing_refused"} 4`,
		`slipway_pools{app="shop",state="draining"} 2`,
		`slipway_instances{app="shop",state="live"} 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// scrape returns what Prometheus gets from m's handler.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape = %d (%v)\n%s", resp.StatusCode, err, body)
	}
	return string(body)
}

func BenchmarkMetrics_Upstream(b *testing.B) {
	m := New(fakeSource{})
	b.ReportAllocs()
	for b.Loop() {
		m.Upstream("shop", 200, time.Millisecond)
	}
}

// The sampler reads what the router counted, class by class and bucket by
// bucket, and /metrics is unchanged by it.
func TestMetrics_RequestsAsTheRouterCountedThem(t *testing.T) {
	m := New(fakeSource{})
	if _, ok := m.Requests("shop"); ok {
		t.Errorf("counters for an app before its first request")
	}
	m.Upstream("shop", 200, 3*time.Millisecond)
	m.Upstream("shop", 204, 30*time.Millisecond)
	m.Upstream("shop", 404, 300*time.Millisecond)
	m.Upstream("shop", 502, 0) // no response: no latency
	before := slipwayLines(scrape(t, m))
	r, ok := m.Requests("shop")
	if !ok {
		t.Fatal("no counters after requests")
	}
	if want := [5]uint64{0, 2, 0, 1, 1}; r.Classes != want {
		t.Errorf("classes = %v, want %v", r.Classes, want)
	}
	if r.Count != 3 || len(r.Bounds) != 13 || len(r.Buckets) != len(r.Bounds) {
		t.Fatalf("histogram: count %d, %d bounds, %d buckets", r.Count, len(r.Bounds), len(r.Buckets))
	}
	for i, b := range r.Bounds {
		want := uint64(0)
		for _, d := range []float64{.003, .03, .3} {
			if d <= b {
				want++
			}
		}
		if r.Buckets[i] != want {
			t.Errorf("bucket le=%g = %d, want %d", b, r.Buckets[i], want)
		}
	}
	if after := slipwayLines(scrape(t, m)); after != before {
		t.Errorf("reading the counters changed /metrics")
	}
}

// slipwayLines are slipway's own lines of a scrape, without the Go
// runtime's, which change from one scrape to the next.
func slipwayLines(body string) string {
	var b strings.Builder
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, "slipway_") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// The router's path stays free of allocation once an app is known, the
// charts' sampler reading alongside.
func TestMetrics_UpstreamAllocatesNothing(t *testing.T) {
	m := New(fakeSource{})
	m.Upstream("shop", 200, time.Millisecond)
	m.Requests("shop")
	if n := testing.AllocsPerRun(1000, func() { m.Upstream("shop", 200, time.Millisecond) }); n != 0 {
		t.Errorf("Upstream allocates %g times a request", n)
	}
}

// BenchmarkMetrics_UpstreamWhileSampled is BenchmarkMetrics_Upstream with
// the charts' sampler reading the counters every millisecond, a thousand
// times as often as it does: compare the two side by side.
func BenchmarkMetrics_UpstreamWhileSampled(b *testing.B) {
	m := New(fakeSource{})
	m.Upstream("shop", 200, time.Millisecond)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				m.Requests("shop")
			}
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		m.Upstream("shop", 200, time.Millisecond)
	}
	b.StopTimer()
	close(done)
	wg.Wait()
}

// BenchmarkMetrics_Requests is what the sampler pays per app and period
// to read the counters.
func BenchmarkMetrics_Requests(b *testing.B) {
	m := New(fakeSource{})
	m.Upstream("shop", 200, time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		m.Requests("shop")
	}
}
