package router

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRouter_Proxy sends parallel GETs through a real router server to
// a tiny backend. Its allocations include those of the client, the router's
// server and the backend, all in this process.
func BenchmarkRouter_Proxy(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer app.Close()
	r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler)})
	r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.Listener.Addr().String()}}})
	srv := httptest.NewServer(r)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		if err != nil {
			b.Error(err)
			return
		}
		req.Host = "web.apps.test"
		for pb.Next() {
			res, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

// BenchmarkRouter_ProxyInProcess calls ServeHTTP directly with a transport
// that answers at once, so that it measures the router and ReverseProxy
// alone (plus the two allocations of the fake response).
func BenchmarkRouter_ProxyInProcess(b *testing.B) {
	r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), Transport: cannedTransport{}})
	r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
		{ID: "web.1", Addr: "127.0.0.1:1"},
		{ID: "web.2", Addr: "127.0.0.1:2"},
	}})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "http://web.apps.test/", nil)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			r.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

// cannedTransport answers every request with an empty 200.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}, nil
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
