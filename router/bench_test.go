package router

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/h1"
)

// BenchmarkRouter_Proxy sends parallel GETs through a real router server to
// a tiny backend. Its allocations include those of the client, the router's
// server and the backend, all in this process.
func BenchmarkRouter_Proxy(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer app.Close()
	r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey})
	defer r.Close()
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

// BenchmarkTransport_RoundTrip sends parallel GETs to a tiny in-process
// backend with the router's transport and with an http.Transport of the
// same limits. Allocations include the backend's.
func BenchmarkTransport_RoundTrip(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer app.Close()
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"direct", tr},
		{"http.Transport", &http.Transport{MaxIdleConnsPerHost: DefaultMaxIdleConnsPerHost, DisableCompression: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, err := http.NewRequest(http.MethodGet, app.URL+"/", nil)
				if err != nil {
					b.Error(err)
					return
				}
				for pb.Next() {
					res, err := bc.rt.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			})
		})
	}
}

// BenchmarkRouter_ProxyInProcess calls ServeHTTP directly, to instances
// that answer with an empty 200 as soon as they read a request, so that it
// measures the router's path (its allocations include the instances').
// Its requests have no affinity cookie, so every response sets one.
func BenchmarkRouter_ProxyInProcess(b *testing.B) {
	r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey})
	defer r.Close()
	r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
		{ID: "web.1", Addr: cannedApp(b)},
		{ID: "web.2", Addr: cannedApp(b)},
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

// BenchmarkRouter_ProxyWithCookie is BenchmarkRouter_ProxyInProcess for a
// returning client: each request carries a fresh affinity cookie for one of
// two instances of a draining pool, which the router verifies and follows
// without setting a new one. Verifying the cookie allocates nothing.
func BenchmarkRouter_ProxyWithCookie(b *testing.B) {
	r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey})
	defer r.Close()
	r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
		{ID: "web.1", Addr: cannedApp(b)},
		{ID: "web.2", Addr: cannedApp(b)},
	}})
	r.SetLive(&Pool{App: "web", Release: "v2", Instances: []*Instance{{ID: "web.1", Addr: cannedApp(b)}}})
	cookie := CookieName + "=" + testCodec().Encode("web", Affinity{Release: "v1", Instance: "web.2", Issued: time.Now()})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "http://web.apps.test/", nil)
		req.Header.Set("Cookie", "_ga=GA1.2.3; "+cookie+"; theme=dark")
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			r.ServeHTTP(w, req)
			if w.code != http.StatusOK || w.h["Set-Cookie"] != nil {
				b.Errorf("status %d, Set-Cookie %q", w.code, w.h["Set-Cookie"])
				return
			}
		}
	})
}

// cannedApp starts an instance that answers every request it reads with
// an empty 200, until the benchmark ends, and returns its address.
func cannedApp(b *testing.B) string {
	return rawApp(b, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); err != nil {
				return
			}
		}
	})
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkRouter_ProxyRaw sends keep-alive GETs over raw connections
// through the lean HTTP/1 server and the router to a raw instance that
// answers each with fixed bytes, so that its allocations and CPU are the
// server's, the router's and its transport's alone. -cookie sends the
// affinity cookie the first response set.
func BenchmarkRouter_ProxyRaw(b *testing.B) {
	for _, cookie := range []bool{false, true} {
		name := "no-cookie"
		if cookie {
			name = "cookie"
		}
		b.Run(name, func(b *testing.B) { benchProxyRaw(b, cookie, nil) })
	}
}

// BenchmarkRouter_AccessLog is BenchmarkRouter_ProxyRaw (with the cookie)
// without access lines, with them on, with them on but the app's turned
// off, and with them formatted but not written, side by side. The lines
// go to a file, one write per batch, a time in front of each line, as an
// takes them; the writer's goroutine shares the CPUs with the client, the
// router and the instance. cpu-ns/op is the process's CPU time (user and
// system) per request, which a busy machine disturbs less than ns/op.
func BenchmarkRouter_AccessLog(b *testing.B) {
	for _, mode := range []string{"off", "on", "app-off", "on-unwritten"} {
		b.Run(mode, func(b *testing.B) {
			before := cpuTime()
			defer func() { b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/op") }()
			if mode == "off" {
				benchProxyRaw(b, true, nil)
				return
			}
			f, err := os.Create(filepath.Join(b.TempDir(), "app.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var line []byte
			al := NewAccessLog(AccessLogConfig{Write: func(app string, texts [][]byte) {
				if mode == "on-unwritten" {
					return
				}
				line = line[:0]
				for _, text := range texts { // one write for the batch, as AppLog.Lines
					line = time.Now().UTC().AppendFormat(line, "2006-01-02T15:04:05.000Z")
					line = append(append(append(line, " router: "...), text...), '\n')
				}
				f.Write(line)
			}})
			al.Start()
			defer al.Shutdown(context.Background())
			benchProxyRaw(b, true, al, func(r *Router) { r.SetAccessLog("web", mode != "app-off") })
			if d := al.Dropped(); d > 0 {
				b.ReportMetric(float64(d)/float64(b.N), "dropped/op")
			}
		})
	}
}

// BenchmarkAppendAccessLine is the writer's work for a line, off the
// request path: formatting it (cleaning the client's strings).
func BenchmarkAppendAccessLine(b *testing.B) {
	e := accessEntry{app: "web", method: "GET", path: "/assets/app.3f2a9c1b.js?v=2", host: "web.apps.test",
		release: "v12", instance: "web.2", status: 200, bytes: 48213, service: 3 * time.Millisecond, pinned: true}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAccessLine(buf[:0], &e)
	}
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchProxyRaw runs BenchmarkRouter_ProxyRaw with access lines to
// access (none if nil), after setup has set the router up.
func benchProxyRaw(b *testing.B, cookie bool, access *AccessLog, setup ...func(*Router)) {
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				res := []byte("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello world\n")
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if bytes.HasSuffix(buf[:n], []byte("\r\n\r\n")) {
						if _, err := c.Write(res); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey, AccessLog: access})
	defer r.Close()
	r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.Addr().String()}}})
	for _, f := range setup {
		f(r)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &h1.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	defer func() {
		srv.Close()
		<-done
	}()

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		req := "GET / HTTP/1.1\r\nHost: web.apps.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
		br := bufio.NewReader(c)
		first := true
		for pb.Next() {
			if _, err := io.WriteString(c, req); err != nil {
				b.Error(err)
				return
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			if first && cookie {
				first = false
				v, _, _ := strings.Cut(res.Header.Get("Set-Cookie"), ";")
				req = strings.TrimSuffix(req, "\r\n") + "Cookie: " + v + "\r\n\r\n"
			}
		}
	})
}
