package drains

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The cost of a line on the app log's writer: one drain that takes every
// line, and one whose receiver is down, its buffer full.
func BenchmarkManager_LogLine(b *testing.B) {
	line := logLine("web.1 v3", `127.0.0.1 - - [07/Dec/2026 22:30:01] "GET / HTTP/1.1" 200 -`)
	b.Run("delivering", func(b *testing.B) {
		r := newReceiver(b, nil)
		cfg := testConfig()
		cfg.MaxLines = 1 << 20
		cfg.MaxBytes = 1 << 30
		m := startManager(b, cfg)
		m.Set("shop", []string{"syslog://" + r.addr()})
		b.ReportAllocs()
		for b.Loop() {
			m.LogLine("shop", line)
		}
	})
	b.Run("full", func(b *testing.B) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		ln.Close()
		m := startManager(b, testConfig())
		m.Set("shop", []string{"syslog://" + ln.Addr().String()})
		b.ReportAllocs()
		for b.Loop() {
			m.LogLine("shop", line)
		}
	})
	b.Run("no drains", func(b *testing.B) {
		m := startManager(b, testConfig())
		b.ReportAllocs()
		for b.Loop() {
			m.LogLine("shop", line)
		}
	})
}

// How many lines a second a drain delivers, to a syslog receiver over
// TCP and to an HTTPS one, when the writers do not wait.
func BenchmarkDrain_Delivery(b *testing.B) {
	line := logLine("web.1 v3", `127.0.0.1 - - [07/Dec/2026 22:30:01] "GET / HTTP/1.1" 200 -`)
	deliver := func(b *testing.B, cfg Config, url string) {
		cfg.MaxLines, cfg.MaxBytes = 1<<30, 1<<30
		m := startManager(b, cfg)
		m.Set("shop", []string{url})
		b.ResetTimer()
		for range b.N {
			m.LogLine("shop", line)
		}
		waitFor(b, "every line delivered", func() bool { return m.Status("shop")[0].Sent == uint64(b.N) })
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	}
	b.Run("syslog", func(b *testing.B) {
		r := newReceiver(b, nil)
		deliver(b, testConfig(), "syslog://"+r.addr())
	})
	b.Run("https", func(b *testing.B) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
		defer srv.Close()
		cfg := testConfig()
		cfg.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		deliver(b, cfg, srv.URL)
	})
}
