package router

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewTransport_Tuned(t *testing.T) {
	tr := NewTransport()
	if got, want := tr.dialer.Timeout, DefaultDialTimeout; got != want {
		t.Errorf("dial timeout %v, want %v", got, want)
	}
	if got, want := tr.maxIdle, DefaultMaxIdleConnsPerHost; got != want {
		t.Errorf("idle connections per host %d, want %d", got, want)
	}
	if got, want := tr.idleTimeout, DefaultIdleConnTimeout; got != want {
		t.Errorf("idle timeout %v, want %v", got, want)
	}
}

// A body of at most DefaultMaxBufferedBody bytes is held whole, whatever
// its framing; a longer one is streamed, every byte of it.
func TestBufferBody_HoldsWhatFitsAndStreamsTheRest(t *testing.T) {
	small := strings.Repeat("x", DefaultMaxBufferedBody)
	for _, tc := range []struct {
		name   string
		body   string
		length bool // the request says its length
		held   bool
	}{
		{"small", small, true, true},
		{"small of unknown length", small, false, true},
		{"large", small + "y", true, false},
		{"large of unknown length", small + "y", false, false},
	} {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:1/", io.MultiReader(strings.NewReader(tc.body)))
		req.ContentLength = -1
		if tc.length {
			req.ContentLength = int64(len(tc.body))
		}
		body, long, err := bufferBody(req, DefaultMaxBufferedBody)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if held := body != nil; held != tc.held || (long != nil) == tc.held {
			t.Fatalf("%s: held %v, streamed %v; want held %v", tc.name, held, long != nil, tc.held)
		}
		got := string(body)
		if long != nil {
			b, _ := io.ReadAll(long.r)
			got = string(b)
			if want := int64(-1); !tc.length && long.length != want {
				t.Errorf("%s: stream length %d, want %d", tc.name, long.length, want)
			}
		}
		if got != tc.body {
			t.Errorf("%s: %d bytes, want %d", tc.name, len(got), len(tc.body))
		}
	}
}

func TestTransport_CancelClosesConnection(t *testing.T) {
	for _, stage := range []string{"headers", "body"} {
		t.Run(stage, func(t *testing.T) {
			started, gone := make(chan struct{}), make(chan struct{})
			app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				close(started)
				if stage == "body" {
					io.WriteString(w, "first\n")
					w.(http.Flusher).Flush()
				}
				select {
				case <-req.Context().Done(): // the server cancels it when the connection closes
					close(gone)
				case <-time.After(10 * time.Second): // a broken transport fails the test instead of hanging it
				}
			}))
			tr := transport(t)
			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.URL, nil)
			done := make(chan error, 1)
			go func() {
				res, err := tr.RoundTrip(req)
				if err == nil {
					defer res.Body.Close()
					br := bufio.NewReader(res.Body)
					if _, err = br.ReadString('\n'); err == nil {
						cancel()
						_, err = io.ReadAll(br)
					}
				}
				done <- err
			}()
			if stage == "headers" {
				recv(t, started, "the request to reach the app")
				cancel()
			}
			if err := recv(t, done, "the cancelled request to return"); !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			recv(t, gone, "the app to see the connection close")
			if n := idleConns(tr, app.Listener.Addr().String()); n != 0 {
				t.Errorf("%d idle connections after a cancelled request, want 0", n)
			}
		})
	}
}

func TestTransport_ChunkedBodiesAndTrailers(t *testing.T) {
	app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got, _ := io.ReadAll(req.Body)
		if len(got) == 0 {
			got = []byte(req.URL.Query().Get("echo"))
		}
		w.Header().Set("Trailer", "X-Sum")
		for _, part := range bytes.SplitAfter(got, []byte(",")) {
			w.Write(part)
			w.(http.Flusher).Flush() // each part its own chunk
		}
		w.Header().Set("X-Sum", fmt.Sprint(len(got)))
	}))
	tr := transport(t)
	for _, body := range []string{"a,b,c", strings.Repeat("x,", 10_000)} {
		pr, pw := io.Pipe()
		go func() {
			for part := range strings.SplitAfterSeq(body, ",") {
				io.WriteString(pw, part)
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, app.URL, pr) // unknown length: chunked
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || string(got) != body {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(body), len(got), err)
		}
		if res.ContentLength != -1 || fmt.Sprint(res.TransferEncoding) != "[chunked]" {
			t.Errorf("response length %d, %v; want chunked", res.ContentLength, res.TransferEncoding)
		}
		if got, want := res.Trailer.Get("X-Sum"), fmt.Sprint(len(body)); got != want {
			t.Errorf("trailer X-Sum %q, want %q", got, want)
		}
	}
	// A chunked response on the direct path leaves its connection reusable
	// (when the request had no body: see TestTransport_ReusesOneConnection).
	before := app.accepts.Load()
	for range 3 {
		res := send(t, tr, http.MethodGet, app.URL+"?echo=1,2", nil)
		if res.body != "1,2" || res.trailer.Get("X-Sum") != "3" {
			t.Fatalf("got %q, trailer %q", res.body, res.trailer)
		}
	}
	if got := app.accepts.Load() - before; got != 1 {
		t.Errorf("3 chunked responses took %d connections, want 1", got)
	}
}

func TestRouter_PassesBodiesAndTrailers(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			got, _ := io.ReadAll(req.Body)
			w.Header().Set("Trailer", "X-Len")
			w.Write(got)
			w.Header().Set("X-Len", fmt.Sprint(len(got)))
		}))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})
		c := client(t)
		for _, n := range []int{1, DefaultMaxBufferedBody, DefaultMaxBufferedBody + 1, 1 << 20} {
			body := strings.Repeat("x", n)
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/", strings.NewReader(body))
			req.Host = "web.apps.test"
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || string(got) != body {
				t.Fatalf("%d bytes: echoed %d bytes, %v", n, len(got), err)
			}
			if got, want := res.Trailer.Get("X-Len"), fmt.Sprint(n); got != want {
				t.Errorf("%d bytes: trailer X-Len %q, want %q", n, got, want)
			}
		}
	})
}

func TestTransport_HeadLeavesConnectionReusable(t *testing.T) {
	app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello") // dropped by the server for HEAD
	}))
	tr := transport(t)
	req, _ := http.NewRequest(http.MethodHead, app.URL, nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(res.Body); len(b) != 0 || res.ContentLength != 5 {
		t.Errorf("HEAD: body %q, length %d; want none, 5", b, res.ContentLength)
	}
	res.Body.Close()
	if got := send(t, tr, http.MethodGet, app.URL, nil).body; got != "hello" {
		t.Errorf("GET after HEAD: %q", got)
	}
	if got := app.accepts.Load(); got != 1 {
		t.Errorf("%d connections, want 1", got)
	}
}

func TestTransport_ConnectionCloseFromApp(t *testing.T) {
	app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	tr := transport(t)
	for range 3 {
		if got := send(t, tr, http.MethodGet, app.URL, nil).body; got != "bye" {
			t.Fatalf("got %q", got)
		}
	}
	if got := app.accepts.Load(); got != 3 {
		t.Errorf("%d connections, want 3: each was closed after its response", got)
	}
	if n := idleConns(tr, app.Listener.Addr().String()); n != 0 {
		t.Errorf("%d idle connections kept, want 0", n)
	}
}

func TestTransport_ClosingBodyEarlyClosesConnection(t *testing.T) {
	app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 1<<20))
	}))
	tr := transport(t)
	req, _ := http.NewRequest(http.MethodGet, app.URL, nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	// Reads larger than the connection's buffer leave nothing buffered, so
	// only knowing that the body was not read to its end keeps the
	// connection from being reused.
	buf := make([]byte, 64<<10)
	res.Body.Read(buf)
	res.Body.Read(buf)
	res.Body.Close()
	if _, err := res.Body.Read(make([]byte, 10)); err == nil {
		t.Error("Read after Close succeeded")
	}
	send(t, tr, http.MethodGet, app.URL, nil)
	if got := app.accepts.Load(); got != 2 {
		t.Errorf("%d connections, want 2: a body closed early leaves its connection unusable", got)
	}
}

// A client's Expect: 100-continue is answered by slipway's server when
// the router reads the body; an app that answers before it reads the body
// (413) is heard, held or streamed.
func TestRouter_ExpectContinue(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/reject" {
				http.Error(w, "too big", http.StatusRequestEntityTooLarge) // without reading the body
				return
			}
			b, _ := io.ReadAll(req.Body)
			fmt.Fprintf(w, "%d", len(b))
		}))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})
		// A client that waits for 100 Continue before its body, as curl does.
		tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
		t.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr}
		for _, tc := range []struct {
			path string
			n    int
			code int
			body string
		}{
			{"/", 10, http.StatusOK, "10"},                                      // held
			{"/", 1 << 20, http.StatusOK, fmt.Sprint(1 << 20)},                  // streamed
			{"/reject", 10, http.StatusRequestEntityTooLarge, "too big\n"},      // held
			{"/reject", 8 << 20, http.StatusRequestEntityTooLarge, "too big\n"}, // streamed: the app never reads it
		} {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+tc.path, bytes.NewReader(make([]byte, tc.n)))
			req.Host = "web.apps.test"
			req.Header.Set("Expect", "100-continue")
			res, err := c.Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s with %d bytes: %v", tc.path, tc.n, err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			cancel()
			if res.StatusCode != tc.code || string(b) != tc.body {
				t.Errorf("%s with %d bytes: %d %q, want %d %q", tc.path, tc.n, res.StatusCode, b, tc.code, tc.body)
			}
		}
	})
}

func TestRouter_PassesEarlyHints(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Link", "</app.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			io.WriteString(w, "page")
		}))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, fmt.Sprint(code, " ", h.Get("Link")))
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, srv.URL+"/", nil)
		req.Host = "web.apps.test"
		res, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(b) != "page" {
			t.Errorf("got %d %q, want 200 page", res.StatusCode, b)
		}
		if want := []string{"103 </app.css>; rel=preload"}; fmt.Sprint(hints) != fmt.Sprint(want) {
			t.Errorf("client saw interim responses %q, want %q", hints, want)
		}
	})
}

func TestTransport_DialErrorIsDialOpError(t *testing.T) {
	tr := transport(t)
	req, _ := http.NewRequest(http.MethodGet, "http://"+deadAddr(t)+"/", nil)
	_, err := tr.RoundTrip(req)
	if !isDialError(err) {
		t.Errorf("error %v (%T) is not a dial error", err, err)
	}
}

func TestTransport_RejectsHugeResponseHeaders(t *testing.T) {
	app := rawServer(t, func(conn net.Conn) {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\n")
		for range maxResponseHeaderBytes/1000 + 1 {
			io.WriteString(conn, "X-Big: "+strings.Repeat("x", 1000)+"\r\n")
		}
		io.WriteString(conn, "Content-Length: 0\r\n\r\n")
	})
	req, _ := http.NewRequest(http.MethodGet, "http://"+app+"/", nil)
	if _, err := transport(t).RoundTrip(req); !errors.Is(err, errHeaderTooLarge) {
		t.Errorf("error %v, want %v", err, errHeaderTooLarge)
	}
}

func TestRouter_ConcurrentRequestsOnDirectPath(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			b, _ := io.ReadAll(req.Body)
			w.Header().Set("X-Method", req.Method)
			w.Write(b)
		}))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
			{ID: "web.1", Addr: app.Listener.Addr().String()},
			{ID: "web.2", Addr: app.Listener.Addr().String()},
		}})
		c := client(t)
		const workers, each = 8, 50
		var wg sync.WaitGroup
		var posts atomic.Int32
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					method, body := http.MethodGet, ""
					switch (w + i) % 3 {
					case 1:
						method, body = http.MethodPost, fmt.Sprintf("%d-%d", w, i)
						posts.Add(1)
					case 2:
						method = http.MethodHead
					}
					res, err := try(c, srv, method, "web.apps.test", "/", strings.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					if res.code != http.StatusOK || res.body != body || res.header.Get("X-Method") != method {
						t.Errorf("%s %q: got %d %q %q", method, body, res.code, res.body, res.header.Get("X-Method"))
						return
					}
				}
			})
		}
		wg.Wait()
		// Each POST's connection ends with it (see
		// TestTransport_ReusesOneConnection); the others are reused.
		if got, most := app.accepts.Load(), workers+posts.Load(); got > most {
			t.Errorf("%d connections for %d concurrent clients and %d POSTs, want at most %d", got, workers, posts.Load(), most)
		}
	})
}
