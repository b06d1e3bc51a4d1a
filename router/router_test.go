package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRouter_RoutesByHostWithPortAndCase(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", backend(t, "web", nil, nil))}})
		r.SetLive(&Pool{App: "api", Release: "v1", Instances: []*Instance{instance("web.1", backend(t, "api", nil, nil))}})
		c := client(t)

		for host, want := range map[string]string{
			"web.apps.test":      "web",
			"WEB.Apps.Test:8080": "web",
			"web.apps.test.":     "web",
			"web.apps.test.:80":  "web",
			"Api.APPS.test:443":  "api",
		} {
			res := get(t, c, srv, host, "/")
			if got := res.code; got != http.StatusOK {
				t.Errorf("Host %q: status %d, want 200", host, got)
			}
			if got := res.body; got != want {
				t.Errorf("Host %q: routed to %q, want %q", host, got, want)
			}
		}
	})
}

func TestRouter_UnknownAppGets404Page(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		r.SetLive(&Pool{App: "web", Instances: []*Instance{instance("web.1", backend(t, "web", nil, nil))}})
		c := client(t)

		for _, tc := range []struct{ host, want, raw string }{
			{"a&b'c.apps.test", "No app named <b>a&amp;b&#39;c</b> here.", "a&b'c"},
			{"nope.apps.test:8080", "No app named <b>nope</b> here.", ""},
			{"deep.web.apps.test", "No app is served at <b>deep.web.apps.test</b>.", ""},
			{"web.example.com", "No app is served at <b>web.example.com</b>.", ""},
		} {
			res := get(t, c, srv, tc.host, "/")
			if got, want := res.code, http.StatusNotFound; got != want {
				t.Errorf("Host %q: status %d, want %d", tc.host, got, want)
			}
			if got, want := res.header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
				t.Errorf("Host %q: Content-Type %q, want %q", tc.host, got, want)
			}
			if !strings.Contains(res.body, tc.want) {
				t.Errorf("Host %q: page %q does not say %q", tc.host, res.body, tc.want)
			}
			if tc.raw != "" && strings.Contains(res.body, tc.raw) {
				t.Errorf("Host %q: page contains unescaped %q", tc.host, tc.raw)
			}
			if strings.Contains(res.body, "page not found") {
				t.Errorf("Host %q: got Go's default 404 text: %q", tc.host, res.body)
			}
		}
	})
}

func TestRouter_NoRunningInstanceGets503(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)

		r.SetLive(&Pool{App: "empty", Release: "v1"})
		down := instance("web.1", backend(t, "down", nil, nil))
		down.SetHealthy(false)
		r.SetLive(&Pool{App: "down", Release: "v1", Instances: []*Instance{down}})
		// An app whose live pool was cleared, as Remove does, is known but has
		// no pool.
		r.SetLive(&Pool{App: "cleared", Release: "v1"})
		(*r.apps.Load())["cleared"].state.Store(emptyState)

		for _, app := range []string{"empty", "down", "cleared"} {
			res := get(t, c, srv, app+"."+testDomain, "/")
			if got, want := res.code, http.StatusServiceUnavailable; got != want {
				t.Errorf("%s: status %d, want %d", app, got, want)
			}
			if got, want := res.header.Get("Retry-After"), "5"; got != want {
				t.Errorf("%s: Retry-After %q, want %q", app, got, want)
			}
			if want := "<b>" + app + "</b> has no running instance"; !strings.Contains(res.body, want) {
				t.Errorf("%s: page %q does not say %q", app, res.body, want)
			}
		}
	})
}

func TestRouter_SetsForwardedHeadersAndKeepsHost(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		seen := make(chan *http.Request, 1)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			seen <- req
		}))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})

		req, err := http.NewRequest(http.MethodGet, srv.URL+"/path?q=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "Web.apps.test:8080"
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		req.Header.Set("X-Forwarded-Host", "spoofed.example")
		for _, h := range []string{"X-Real-IP", "X-Client-IP", "True-Client-IP", "Forwarded"} {
			req.Header.Set(h, "203.0.113.7")
		}
		res, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		got := recv(t, seen, "the backend to see the request")

		if want := "Web.apps.test:8080"; got.Host != want {
			t.Errorf("backend saw Host %q, want %q", got.Host, want)
		}
		if want := "/path?q=1"; got.RequestURI != want {
			t.Errorf("backend saw URI %q, want %q", got.RequestURI, want)
		}
		for k, want := range map[string]string{
			"X-Forwarded-For":   "127.0.0.1", // the client's own value is not trusted
			"X-Forwarded-Host":  "Web.apps.test:8080",
			"X-Forwarded-Proto": "http",
			"X-Real-IP":         "127.0.0.1",
			"X-Client-IP":       "",
			"True-Client-IP":    "",
			"Forwarded":         "",
		} {
			if v := got.Header.Get(k); v != want {
				t.Errorf("backend saw %s %q, want %q", k, v, want)
			}
		}
	})
}

func TestRouter_SwitchKeepsInFlightRequest(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		started, hold := make(chan string, 1), make(chan struct{})
		v1 := &Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", backend(t, "v1", started, hold))}}
		v2 := &Pool{App: "web", Release: "v2", Instances: []*Instance{instance("web.1", backend(t, "v2", nil, nil))}}
		if old := r.SetLive(v1); old != nil {
			t.Fatalf("first SetLive returned %v, want nil", old)
		}

		slow := make(chan response, 1)
		go func() {
			res, err := try(c, srv, http.MethodGet, "web.apps.test", "/hold/slow", nil)
			if err != nil {
				t.Error(err)
			}
			slow <- res
		}()
		recv(t, started, "the slow request to reach v1")
		if got := r.InFlight(v1); got != 1 {
			t.Fatalf("InFlight(v1) = %d with one request held, want 1", got)
		}

		if old := r.SetLive(v2); old != v1 {
			t.Fatalf("SetLive(v2) returned %v, want v1", old)
		}
		if got := r.Live("web"); got != v2 {
			t.Fatalf("Live after switch = %v, want v2", got)
		}
		if res := get(t, c, srv, "web.apps.test", "/"); res.body != "v2" {
			t.Fatalf("new request went to %q, want v2", res.body)
		}
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.WaitIdle(cancelled, v1); !errors.Is(err, context.Canceled) {
			t.Fatalf("WaitIdle(v1) with a request in flight and a cancelled context = %v, want context.Canceled", err)
		}

		idle := make(chan error, 1)
		go func() { idle <- r.WaitIdle(context.Background(), v1) }()
		select {
		case err := <-idle:
			t.Fatalf("WaitIdle(v1) returned %v while a request was in flight", err)
		default:
		}
		close(hold)
		if res := recv(t, slow, "the slow request to finish"); res.code != http.StatusOK || res.body != "v1" {
			t.Fatalf("slow request got %d %q, want 200 from v1", res.code, res.body)
		}
		if err := recv(t, idle, "WaitIdle(v1)"); err != nil {
			t.Fatalf("WaitIdle(v1) = %v", err)
		}
		if got := r.InFlight(v1); got != 0 {
			t.Errorf("InFlight(v1) = %d after drain, want 0", got)
		}
		if got := r.InFlight(v2); got != 0 {
			t.Errorf("InFlight(v2) = %d when idle, want 0", got)
		}
	})
}

func TestRouter_ConcurrentSetLiveAndRequests(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		pools := make([]*Pool, 4)
		for i := range pools {
			v := fmt.Sprintf("v%d", i+1)
			pools[i] = &Pool{App: "web", Release: v, Instances: []*Instance{
				instance("web.1", backend(t, v, nil, nil)),
				instance("web.2", backend(t, v, nil, nil)),
			}}
		}
		r.SetLive(pools[0])

		// The writer switches pools a fixed number of times while readers send
		// requests until it is done.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 500 {
				r.SetLive(pools[i%len(pools)])
				// Another app comes and goes, copying the table each time.
				r.SetLive(&Pool{App: fmt.Sprintf("other%d", i%3)})
				r.Remove(fmt.Sprintf("other%d", (i+1)%3))
			}
		}()
		var reqs sync.WaitGroup
		for range 8 {
			reqs.Go(func() {
				for n := 0; ; n++ {
					select {
					case <-done:
						if n > 0 {
							return
						}
					default:
					}
					res, err := try(c, srv, http.MethodGet, "web.apps.test", "/", nil)
					if err != nil {
						t.Error(err)
						return
					}
					if res.code != http.StatusOK || !strings.HasPrefix(res.body, "v") {
						t.Errorf("got %d %q during switches, want 200 from some release", res.code, res.body)
						return
					}
				}
			})
		}
		reqs.Wait()
		for _, p := range pools {
			if err := r.WaitIdle(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			for _, inst := range p.Instances {
				if n := inst.outstanding.Load(); n != 0 {
					t.Errorf("%s %s: %d outstanding when idle", p.Release, inst.ID, n)
				}
			}
		}
	})
}

func TestRouter_ConcurrentSwitchesWithPinnedClients(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		pools := make([]*Pool, 4)
		for i := range pools {
			pools[i] = pool(t, "web", fmt.Sprintf("v%d", i+1), 2)
		}
		r.SetLive(pools[0])

		// The writer switches, re-promotes and retires pools while clients
		// with cookie jars keep sending requests.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 300 {
				r.SetLive(pools[i%len(pools)])
				if d := r.Draining("web"); len(d) > 1 {
					r.Retire(d[len(d)-1])
				}
				if i%7 == 0 {
					pools[i%len(pools)].Instances[0].SetHealthy(i%2 == 0)
				}
			}
		}()
		var reqs sync.WaitGroup
		for range 8 {
			c := browser(t, srv)
			reqs.Go(func() {
				for n := 0; ; n++ {
					select {
					case <-done:
						if n > 0 {
							return
						}
					default:
					}
					req, _ := http.NewRequest(http.MethodGet, "http://web.apps.test/", nil)
					res, err := c.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					var body strings.Builder
					io.Copy(&body, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK || !strings.HasPrefix(body.String(), "v") {
						t.Errorf("got %d %q during switches, want 200 from some release", res.StatusCode, body.String())
						return
					}
				}
			})
		}
		reqs.Wait()
		for _, p := range pools {
			r.Retire(p)
			if err := r.WaitIdle(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			for _, inst := range p.Instances {
				if n := inst.outstanding.Load(); n != 0 {
					t.Errorf("%s %s: %d outstanding when idle", p.Release, inst.ID, n)
				}
			}
		}
	})
}

func TestNew_WithoutAffinityKeyUsesRandomOne(t *testing.T) {
	var cookies []string
	for range 2 {
		logs := &syncBuffer{}
		r := New(Config{Domain: testDomain, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		t.Cleanup(r.Close)
		if !strings.Contains(logs.String(), "sessions will not survive a restart") {
			t.Errorf("no warning about the random key:\n%s", logs)
		}
		cookies = append(cookies, r.codec.Encode("web", Affinity{Release: "v1", Instance: "web.1", Issued: time.Unix(1_700_000_000, 0)}))
	}
	if cookies[0] == cookies[1] {
		t.Error("two routers without a key sign alike")
	}
}

// A trusted proxy's X-Forwarded-* are kept, its address appended to the
// chain; an untrusted peer's are replaced.
func TestRouter_TrustedProxiesKeepForwardedHeaders(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		for _, tc := range []struct {
			trusted string
			want    map[string]string
		}{
			{"127.0.0.0/8", map[string]string{"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example.com"}},
			{"10.0.0.0/8", map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "web.apps.test"}},
		} {
			r := New(Config{Domain: testDomain, AffinityKey: testKey, TrustedProxies: []netip.Prefix{netip.MustParsePrefix(tc.trusted)}})
			t.Cleanup(r.Close)
			srv := serveRouter(t, r)
			seen := make(chan *http.Request, 1)
			app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { seen <- req }))
			r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			req.Host = "web.apps.test"
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("X-Forwarded-Host", "shop.example.com")
			res, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			got := recv(t, seen, "the backend to see the request")
			for k, want := range tc.want {
				if v := got.Header.Get(k); v != want {
					t.Errorf("trusted %s: backend saw %s %q, want %q", tc.trusted, k, v, want)
				}
			}
		}
	})
}

// A trusted proxy's request reaches the app whole, its body included.
func TestRouter_TrustedProxyRequestKeepsItsBody(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r := New(Config{Domain: testDomain, AffinityKey: testKey, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		t.Cleanup(r.Close)
		srv := serveRouter(t, r)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			b, _ := io.ReadAll(req.Body)
			w.Write(b)
		}))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})
		if res := do(t, client(t), srv, http.MethodPost, "web.apps.test", "/", strings.NewReader("a=1&b=2")); res.code != http.StatusOK || res.body != "a=1&b=2" {
			t.Errorf("POST from a trusted proxy: %d %q, want 200 echoing the body", res.code, res.body)
		}
	})
}
