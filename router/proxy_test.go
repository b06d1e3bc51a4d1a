package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRouter_SendsToLeastOutstandingInstance(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		started, hold := make(chan string, 1), make(chan struct{})
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
			instance("web.1", backend(t, "web.1", started, hold)),
			instance("web.2", backend(t, "web.2", started, hold)),
		}})

		slow := make(chan error, 1)
		go func() {
			_, err := try(c, srv, http.MethodGet, "web.apps.test", "/hold/", nil)
			slow <- err
		}()
		busy := recv(t, started, "the slow request to start")
		for range 4 {
			if res := get(t, c, srv, "web.apps.test", "/"); res.body == busy {
				t.Fatalf("request went to %s, which is busy with a held request", busy)
			}
		}
		close(hold)
		if err := recv(t, slow, "the slow request to finish"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRouter_BreaksTiesRoundRobin(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
			instance("web.1", backend(t, "web.1", nil, nil)),
			instance("web.2", backend(t, "web.2", nil, nil)),
		}})
		prev := get(t, c, srv, "web.apps.test", "/").body
		for range 5 {
			got := get(t, c, srv, "web.apps.test", "/").body
			if got == prev {
				t.Fatalf("two idle-pool requests in a row went to %s, want alternation", got)
			}
			prev = got
		}
	})
}

func TestRouter_SkipsUnhealthyInstance(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		web1 := instance("web.1", backend(t, "web.1", nil, nil))
		if !web1.Healthy() {
			t.Fatal("a new instance is not healthy")
		}
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{web1, instance("web.2", backend(t, "web.2", nil, nil))}})

		web1.SetHealthy(false)
		for range 4 {
			if got := get(t, c, srv, "web.apps.test", "/").body; got != "web.2" {
				t.Fatalf("request went to %s, want web.2 while web.1 is unhealthy", got)
			}
		}
		web1.SetHealthy(true)
		seen := map[string]bool{}
		for range 4 {
			seen[get(t, c, srv, "web.apps.test", "/").body] = true
		}
		if !seen["web.1"] {
			t.Errorf("web.1 got no requests after it became healthy again: %v", seen)
		}
	})
}

func TestRouter_RetriesDeadInstanceOnAnother(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, logs := front(t)
		c := client(t)
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
			{ID: "web.1", Addr: deadAddr(t)},
			instance("web.2", backend(t, "web.2", nil, nil)),
		}})
		// Ties go round robin, so half of these try the dead web.1 first.
		for range 4 {
			if res := get(t, c, srv, "web.apps.test", "/"); res.code != http.StatusOK || res.body != "web.2" {
				t.Fatalf("got %d %q, want 200 from web.2", res.code, res.body)
			}
		}
		if res := do(t, c, srv, http.MethodHead, "web.apps.test", "/", nil); res.code != http.StatusOK {
			t.Fatalf("HEAD got %d, want 200", res.code)
		}
		log := logs.String()
		for _, want := range []string{"instance unreachable", "app=web", "release=v1", "instance=web.1", "retry=web.2", "err=", "connection refused"} {
			if !strings.Contains(log, want) {
				t.Errorf("log does not contain %q:\n%s", want, log)
			}
		}
	})
}

func TestRouter_AllInstancesDeadGets502Page(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, logs := front(t)
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
			{ID: "web.1", Addr: deadAddr(t)},
			{ID: "web.2", Addr: deadAddr(t)},
		}})
		res := get(t, client(t), srv, "web.apps.test", "/")
		if got, want := res.code, http.StatusBadGateway; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if want := "<b>web</b> did not answer"; !strings.Contains(res.body, want) {
			t.Errorf("page %q does not say %q", res.body, want)
		}
		for _, leak := range []string{"dial", "refused", "127.0.0.1", "web.1", "web.2"} {
			if strings.Contains(res.body, leak) {
				t.Errorf("page leaks %q: %q", leak, res.body)
			}
		}
		if log := logs.String(); !strings.Contains(log, "bad gateway") || !strings.Contains(log, "app=web release=v1 instance=web.") {
			t.Errorf("log has no bad gateway line with app, release and instance:\n%s", log)
		}
	})
}

// A request the router holds whole (no body, or one of at most
// DefaultMaxBufferedBody bytes) goes to another instance when its own
// cannot be reached; a streamed body cannot be sent again.
func TestRouter_RetriesOnlyRequestsItHoldsWhole(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		started, hold := make(chan string, 1), make(chan struct{})
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
			{ID: "web.1", Addr: deadAddr(t)},
			instance("web.2", backend(t, "web.2", started, hold)),
		}})
		// A request held on web.2 makes the dead web.1 the least busy, so it is
		// tried first by every request below.
		slow := make(chan error, 1)
		go func() {
			_, err := try(c, srv, http.MethodGet, "web.apps.test", "/hold/", nil)
			slow <- err
		}()
		recv(t, started, "the held request to reach web.2")

		if res := do(t, c, srv, http.MethodPost, "web.apps.test", "/", strings.NewReader(strings.Repeat("x", DefaultMaxBufferedBody+1))); res.code != http.StatusBadGateway {
			t.Errorf("POST with a streamed body to a dead instance: status %d, want 502 (a streamed body cannot be sent again)", res.code)
		}
		if res := do(t, c, srv, http.MethodPost, "web.apps.test", "/", strings.NewReader("x=1")); res.code != http.StatusOK || res.body != "web.2" {
			t.Errorf("POST with a small body: got %d %q, want 200 from web.2 (the body is held)", res.code, res.body)
		}
		if res := do(t, c, srv, http.MethodPost, "web.apps.test", "/", nil); res.code != http.StatusOK || res.body != "web.2" {
			t.Errorf("POST without a body: got %d %q, want 200 from web.2", res.code, res.body)
		}
		if res := get(t, c, srv, "web.apps.test", "/"); res.code != http.StatusOK || res.body != "web.2" {
			t.Errorf("GET: got %d %q, want 200 from web.2", res.code, res.body)
		}
		close(hold)
		if err := recv(t, slow, "the held request to finish"); err != nil {
			t.Fatal(err)
		}
	})
}

// An instance that dies after taking the connection (reset before any
// response) costs an idempotent request nothing: it is retried on another
// instance. A POST may have reached the app, so it is not sent twice.
func TestRouter_RetriesIdempotentRequestOnConnectionReset(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		var posts atomic.Int32
		dying := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodPost {
				posts.Add(1)
			}
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0) // close with a reset, as a killed process does
				conn.Close()
			}
		}))
		started, hold := make(chan string, 1), make(chan struct{})
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{
			instance("web.1", dying),
			instance("web.2", backend(t, "web.2", started, hold)),
		}})
		// A request held on web.2 makes web.1 the least busy, so it is tried first.
		slow := make(chan error, 1)
		go func() {
			_, err := try(c, srv, http.MethodGet, "web.apps.test", "/hold/", nil)
			slow <- err
		}()
		recv(t, started, "the held request to reach web.2")
		if res := get(t, c, srv, "web.apps.test", "/"); res.code != http.StatusOK || res.body != "web.2" {
			t.Errorf("GET: got %d %q, want 200 from web.2", res.code, res.body)
		}
		if res := do(t, c, srv, http.MethodPost, "web.apps.test", "/", nil); res.code != http.StatusBadGateway {
			t.Errorf("POST: got %d %q, want 502", res.code, res.body)
		}
		if got := posts.Load(); got != 1 {
			t.Errorf("the app saw the POST %d times, want once", got)
		}
		close(hold)
		if err := recv(t, slow, "the held request to finish"); err != nil {
			t.Fatal(err)
		}
	})
}

// The router flushes a response of unknown length, or an event stream, as
// the app writes it: a client sees the first part while the app is still
// working on the rest. (Responses of known length are flushed when done or
// when the server's buffer fills.)
func TestRouter_StreamsBeforeHandlerEnds(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			write func(w http.ResponseWriter, hold <-chan struct{})
		}{
			{"chunked", func(w http.ResponseWriter, hold <-chan struct{}) {
				io.WriteString(w, "first\n")
				w.(http.Flusher).Flush()
				<-hold
				io.WriteString(w, "second\n")
			}},
			{"event stream", func(w http.ResponseWriter, hold <-chan struct{}) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, "first\n")
				w.(http.Flusher).Flush()
				<-hold
				io.WriteString(w, "second\n")
			}},
			{"until close", func(w http.ResponseWriter, hold <-chan struct{}) {
				// No length and no chunking, as an HTTP/1.0 app answers: the
				// body ends when the app closes the connection.
				conn, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				brw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst\n")
				brw.Flush()
				<-hold
				brw.WriteString("second\n")
				brw.Flush()
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, srv, _ := front(t)
				hold := make(chan struct{})
				app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					tc.write(w, hold)
				}))
				r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})

				// A router that buffers fails the test instead of hanging it.
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Host = "web.apps.test"
				res, err := client(t).Do(req)
				if err != nil {
					close(hold)
					t.Fatal(err)
				}
				defer res.Body.Close()
				body := bufio.NewReader(res.Body)
				first, err := body.ReadString('\n')
				if err != nil || first != "first\n" {
					close(hold)
					t.Fatalf("first chunk: %q, %v; want %q while the app is still writing", first, err, "first\n")
				}
				close(hold)
				rest, err := io.ReadAll(body)
				if err != nil || string(rest) != "second\n" {
					t.Fatalf("rest: %q, %v; want %q", rest, err, "second\n")
				}
			})
		}
	})
}

func TestRouter_PassesUpgradeThrough(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Header.Get("Upgrade") != "echo" || req.Host != "web.apps.test" {
				http.Error(w, "want Upgrade: echo for web.apps.test", http.StatusBadRequest)
				return
			}
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
			io.Copy(conn, brw) // echo until the client closes
		}))
		pool := &Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}}
		r.SetLive(pool)

		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second)) // a broken proxy fails the test instead of hanging it
		io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: web.apps.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d, want 101", res.StatusCode)
		}
		for _, msg := range []string{"hello\n", "again\n"} {
			io.WriteString(conn, msg)
			if got, err := br.ReadString('\n'); err != nil || got != msg {
				t.Fatalf("echo: got %q, %v; want %q", got, err, msg)
			}
		}
		if got := r.InFlight(pool); got != 1 {
			t.Errorf("InFlight = %d with an open upgraded connection, want 1", got)
		}
		conn.Close()
		eventually(t, "the closed connection to leave InFlight", func() bool { return r.InFlight(pool) == 0 })
	})
}

func TestRouter_ObservesProxiedRequests(t *testing.T) {
	type seen struct {
		app  string
		code int
		took bool
	}
	got := make(chan seen, 4)
	r := New(Config{Domain: testDomain, AffinityKey: testKey, Observe: func(app string, code int, d time.Duration) {
		got <- seen{app, code, d > 0}
	}})
	t.Cleanup(r.Close)
	srv := newServer(t, r)
	r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", backend(t, "web.1", nil, nil))}})
	get(t, client(t), srv, "web.apps.test", "/")
	if s := recv(t, got, "the observation"); s != (seen{"web", 200, true}) {
		t.Errorf("observed %+v, want web 200 with a duration", s)
	}
	r.SetLive(&Pool{App: "dead", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: deadAddr(t)}}})
	get(t, client(t), srv, "dead.apps.test", "/")
	if s := recv(t, got, "the observation"); s != (seen{"dead", 502, false}) {
		t.Errorf("observed %+v, want dead 502", s)
	}
}
