package router

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTransport_ReusesOneConnection(t *testing.T) {
	app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		io.WriteString(w, req.Method+" "+req.URL.Path)
	}))
	tr := transport(t)
	for i := range 10 {
		method := http.MethodGet
		if i%2 == 1 {
			method = http.MethodDelete
		}
		path := fmt.Sprintf("/%d", i)
		if got, want := send(t, tr, method, app.URL+path, nil).body, method+" "+path; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if got := app.accepts.Load(); got != 1 {
		t.Errorf("10 sequential requests took %d connections, want 1", got)
	}
	// A request with a body goes out on a kept connection, but the
	// connection ends with it: the router cannot know the app read the
	// body, and an app that did not would take it for the next request.
	before := app.accepts.Load()
	for i := range 3 {
		if got, want := send(t, tr, http.MethodPost, app.URL+"/p", strings.NewReader("a=1")).body, "POST /p"; got != want {
			t.Fatalf("POST %d: got %q, want %q", i, got, want)
		}
	}
	if got := app.accepts.Load() - before; got != 2 {
		t.Errorf("3 POSTs after a GET took %d new connections, want 2 (the first on the GET's)", got)
	}
}

func TestRouter_ReusesConnectionsToInstance(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "web") }))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.Listener.Addr().String()}}})
		c := client(t)
		for range 20 {
			if res := get(t, c, srv, "web.apps.test", "/"); res.code != http.StatusOK || res.body != "web" {
				t.Fatalf("got %d %q, want 200 web", res.code, res.body)
			}
		}
		if got := app.accepts.Load(); got != 1 {
			t.Errorf("20 sequential requests took %d connections to the instance, want 1", got)
		}
	})
}

// An instance may close a keep-alive connection while it sits idle in the
// router (its own idle timeout, a restart): the next request must not fail.
func TestTransport_RetriesConnectionClosedWhileIdle(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				io.WriteString(w, req.Method)
			}))
			tr := transport(t)
			send(t, tr, method, app.URL, nil)
			app.closeIdle(t)
			if got := send(t, tr, method, app.URL, nil).body; got != method {
				t.Fatalf("after the app closed the idle connection: got %q, want %q", got, method)
			}
			if got := app.accepts.Load(); got != 2 {
				t.Errorf("%d connections, want 2", got)
			}
		})
	}
}

// An app that reads a request on a reused connection and then closes it
// without answering may or may not have acted on it: a GET is sent again, a
// POST is not.
func TestTransport_ResendsOnlyIdempotentRequestsAfterSilentClose(t *testing.T) {
	for _, tc := range []struct {
		method   string
		wantSeen int32
		wantErr  bool
	}{
		{http.MethodGet, 3, false},
		{http.MethodPost, 2, true},
	} {
		t.Run(tc.method, func(t *testing.T) {
			var seen atomic.Int32
			app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if seen.Add(1) == 2 {
					conn, _, err := http.NewResponseController(w).Hijack()
					if err == nil {
						conn.Close()
					}
					return
				}
				io.WriteString(w, "ok")
			}))
			tr := transport(t)
			send(t, tr, tc.method, app.URL, nil)
			req, _ := http.NewRequest(tc.method, app.URL, nil)
			res, err := tr.RoundTrip(req)
			if err == nil {
				res.Body.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("second request: error %v, want one: %v", err, tc.wantErr)
			}
			if got := seen.Load(); got != tc.wantSeen {
				t.Errorf("the app saw %d requests, want %d", got, tc.wantSeen)
			}
			if isDialError(err) {
				t.Errorf("error %v is a dial error, which the router would retry on another instance", err)
			}
		})
	}
}

func TestTransport_ClosesIdleConnectionsAfterTimeout(t *testing.T) {
	app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, "ok") }))
	tr := transport(t)
	tr.idleTimeout = 50 * time.Millisecond
	send(t, tr, http.MethodGet, app.URL, nil)
	key := app.Listener.Addr().String()
	if _, ok := tr.hosts.Load(key); !ok {
		t.Fatal("no idle connections kept")
	}
	eventually(t, "the idle connection to close", func() bool { return app.closed.Load() == 1 })
	eventually(t, "the address to be forgotten", func() bool { _, ok := tr.hosts.Load(key); return !ok })
	if got := send(t, tr, http.MethodGet, app.URL, nil).body; got != "ok" {
		t.Errorf("after the sweep: %q", got)
	}
}

func TestTransport_BoundsIdleConnections(t *testing.T) {
	hold := make(chan struct{})
	var started sync.WaitGroup
	app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		started.Done()
		<-hold
		io.WriteString(w, "ok")
	}))
	tr := transport(t)
	tr.maxIdle = 2
	const n = 5
	started.Add(n)
	var done sync.WaitGroup
	for range n {
		done.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, app.URL, nil)
			if res, err := tr.RoundTrip(req); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
	started.Wait()
	close(hold)
	done.Wait()
	if got := idleConns(tr, app.Listener.Addr().String()); got != 2 {
		t.Errorf("%d idle connections, want 2", got)
	}
	eventually(t, "the surplus connections to close", func() bool { return app.closed.Load() == n-2 })
}

func TestRouter_CloseClosesIdleConnections(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "web") }))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.Listener.Addr().String()}}})
		c := client(t)
		get(t, c, srv, "web.apps.test", "/")
		r.Close()
		eventually(t, "the idle connection to the instance to close", func() bool { return app.closed.Load() == 1 })
		if res := get(t, c, srv, "web.apps.test", "/"); res.code != http.StatusOK || res.body != "web" {
			t.Errorf("after Close: %d %q, want 200 web", res.code, res.body)
		}
	})
}

// An app with a short keep-alive timeout closes the router's idle
// connections to it between requests; its clients never see that.
func TestRouter_SurvivesAppClosingIdleConnections(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, logs := front(t)
		app := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, req.Method) }))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.Listener.Addr().String()}}})
		c := client(t)
		for _, method := range []string{http.MethodGet, http.MethodGet, http.MethodPost, http.MethodPost, http.MethodDelete} {
			if res := do(t, c, srv, method, "web.apps.test", "/", nil); res.code != http.StatusOK || res.body != method {
				t.Fatalf("%s: got %d %q, want 200 %s", method, res.code, res.body, method)
			}
			app.closeIdle(t)
		}
		if strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("closed idle connections were logged as problems:\n%s", logs)
		}
	})
}
