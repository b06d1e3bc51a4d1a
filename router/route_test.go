package router

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRouter_KeepsSessionOnDrainingPool(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		v1, v2 := pool(t, "web", "v1", 2), pool(t, "web", "v2", 2)
		r.SetLive(v1)
		old := browser(t, srv)
		first := visit(t, old, "web.apps.test", "/").body

		if got := r.SetLive(v2); got != v1 {
			t.Fatalf("SetLive(v2) = %v, want v1", got)
		}
		for range 4 {
			res := visit(t, old, "web.apps.test", "/")
			if res.body != first {
				t.Fatalf("client pinned to %s went to %s after the switch", first, res.body)
			}
			if ck := affinityCookie(t, res); ck != nil {
				t.Fatalf("pinned client got a new cookie: %q", ck.Raw)
			}
		}
		for range 4 {
			res := visit(t, browser(t, srv), "web.apps.test", "/")
			if !strings.HasPrefix(res.body, "v2/") {
				t.Fatalf("new client went to %s, want v2", res.body)
			}
			if a := pinnedTo(t, "web", res); a.Release != "v2" {
				t.Fatalf("new client pinned to %+v, want v2", a)
			}
		}
		if got := r.Draining("web"); !slices.Equal(got, []*Pool{v1}) {
			t.Errorf("Draining = %v, want [v1]", got)
		}
	})
}

func TestRouter_MovesSessionOffUnhealthyInstance(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		v1 := pool(t, "web", "v1", 3)
		r.SetLive(v1)
		c := browser(t, srv)
		first := visit(t, c, "web.apps.test", "/").body
		r.SetLive(pool(t, "web", "v2", 1)) // the pinned pool is now draining

		down := byID(t, v1, strings.TrimPrefix(first, "v1/"))
		down.SetHealthy(false)
		res := visit(t, c, "web.apps.test", "/")
		if !strings.HasPrefix(res.body, "v1/") || res.body == first {
			t.Fatalf("with %s down, pinned client went to %s, want another v1 instance", first, res.body)
		}
		if a := pinnedTo(t, "web", res); a.Release != "v1" || "v1/"+a.Instance != res.body {
			t.Fatalf("cookie pins to %+v, but %s answered", a, res.body)
		}
		moved := res.body

		down.SetHealthy(true)
		for range 4 {
			if got := visit(t, c, "web.apps.test", "/").body; got != moved {
				t.Fatalf("client moved to %s went to %s", moved, got)
			}
		}
	})
}

func TestRouter_PinnedPoolWithoutHealthyInstanceGoesLive(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		v1 := pool(t, "web", "v1", 2)
		r.SetLive(v1)
		c := browser(t, srv)
		visit(t, c, "web.apps.test", "/")
		r.SetLive(pool(t, "web", "v2", 1))

		for _, inst := range v1.Instances {
			inst.SetHealthy(false)
		}
		res := visit(t, c, "web.apps.test", "/")
		if res.code != http.StatusOK || res.body != "v2/web.1" {
			t.Fatalf("with v1 down, pinned client got %d %q, want 200 from v2", res.code, res.body)
		}
		if a := pinnedTo(t, "web", res); a.Release != "v2" {
			t.Fatalf("cookie pins to %+v, want v2", a)
		}
		for _, inst := range v1.Instances {
			inst.SetHealthy(true)
		}
		if got := visit(t, c, "web.apps.test", "/").body; got != "v2/web.1" {
			t.Fatalf("client moved to v2 went back to %s", got)
		}
	})
}

func TestRouter_RetireMovesSessionsToLive(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		v1, v2 := pool(t, "web", "v1", 1), pool(t, "web", "v2", 1)
		r.SetLive(v1)
		c := browser(t, srv)
		visit(t, c, "web.apps.test", "/")
		r.SetLive(v2)
		if got := visit(t, c, "web.apps.test", "/").body; got != "v1/web.1" {
			t.Fatalf("pinned client went to %s before Retire, want v1", got)
		}

		r.Retire(v1)
		if got := r.Draining("web"); len(got) != 0 {
			t.Fatalf("Draining after Retire = %v, want none", got)
		}
		res := visit(t, c, "web.apps.test", "/")
		if res.body != "v2/web.1" {
			t.Fatalf("client of the retired pool went to %s, want v2", res.body)
		}
		if a := pinnedTo(t, "web", res); a.Release != "v2" {
			t.Fatalf("cookie pins to %+v, want v2", a)
		}
		if err := r.WaitIdle(t.Context(), v1); err != nil {
			t.Fatal(err)
		}

		r.Retire(v1) // twice
		r.Retire(v2) // the live pool
		r.Retire(&Pool{App: "nope", Release: "v1"})
		if got := r.Live("web"); got != v2 {
			t.Fatalf("Live after retiring the live pool = %v, want v2 still", got)
		}
	})
}

func TestRouter_ManyDrainingPoolsKeepTheirClients(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		v1, v2, v3 := pool(t, "web", "v1", 2), pool(t, "web", "v2", 2), pool(t, "web", "v3", 2)
		r.SetLive(v1)
		c1 := browser(t, srv)
		on1 := visit(t, c1, "web.apps.test", "/").body
		r.SetLive(v2)
		c2 := browser(t, srv)
		on2 := visit(t, c2, "web.apps.test", "/").body
		r.SetLive(v3)

		if got := r.Draining("web"); !slices.Equal(got, []*Pool{v2, v1}) {
			t.Fatalf("Draining = %v, want [v2 v1]", got)
		}
		for range 3 {
			if got := visit(t, c1, "web.apps.test", "/").body; got != on1 {
				t.Fatalf("client of v1 went to %s, want %s", got, on1)
			}
			if got := visit(t, c2, "web.apps.test", "/").body; got != on2 {
				t.Fatalf("client of v2 went to %s, want %s", got, on2)
			}
			if got := visit(t, browser(t, srv), "web.apps.test", "/").body; !strings.HasPrefix(got, "v3/") {
				t.Fatalf("new client went to %s, want v3", got)
			}
		}
	})
}

func TestRouter_PoolReportsLastSeenInFlightAndDrainingSince(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		started, hold := make(chan string, 1), make(chan struct{})
		v1 := &Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", backend(t, "v1", started, hold))}}
		v2 := pool(t, "web", "v2", 1)
		release := sync.OnceFunc(func() { close(hold) })
		t.Cleanup(release) // before the servers close, should the test fail with the request held
		r.SetLive(v1)
		if !v1.LastSeen().IsZero() || !v1.DrainingSince().IsZero() || v1.InFlight() != 0 {
			t.Fatalf("new live pool: LastSeen %v, DrainingSince %v, InFlight %d; want zero", v1.LastSeen(), v1.DrainingSince(), v1.InFlight())
		}

		c := browser(t, srv)
		before := time.Now()
		visit(t, c, "web.apps.test", "/")
		if seen := v1.LastSeen(); seen.Before(before.Add(-time.Second)) || seen.After(time.Now()) {
			t.Errorf("LastSeen = %v, want about %v", seen, before)
		}

		slow := make(chan response, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodGet, "http://web.apps.test/hold/", nil)
			res, err := c.Do(req)
			if err != nil {
				t.Error(err)
			} else {
				res.Body.Close()
			}
			slow <- response{}
		}()
		recv(t, started, "the held request to reach v1")
		if got, rgot := v1.InFlight(), r.InFlight(v1); got != 1 || rgot != 1 {
			t.Errorf("InFlight = %d, Router.InFlight = %d with one request held; want 1", got, rgot)
		}

		switched := time.Now()
		r.SetLive(v2)
		if since := v1.DrainingSince(); since.Before(switched) || since.After(time.Now()) {
			t.Errorf("DrainingSince = %v, want about %v", since, switched)
		}
		if !v2.DrainingSince().IsZero() || !v2.LastSeen().IsZero() {
			t.Errorf("v2: DrainingSince %v, LastSeen %v; want zero: live and not yet used", v2.DrainingSince(), v2.LastSeen())
		}

		// Only the pinned client reaches the draining pool, and it counts as
		// seen.
		v1.lastSeen.Store(1)
		before = time.Now()
		if got := visit(t, c, "web.apps.test", "/").body; got != "v1" {
			t.Fatalf("pinned client went to %s", got)
		}
		if seen := v1.LastSeen(); seen.Before(before.Add(-time.Second)) {
			t.Errorf("LastSeen of the draining pool = %v after a pinned request at %v", seen, before)
		}
		visit(t, browser(t, srv), "web.apps.test", "/")
		if v2.LastSeen().IsZero() {
			t.Error("LastSeen of v2 is zero after a request")
		}

		release()
		recv(t, slow, "the held request to finish")
		eventually(t, "v1 to go idle", func() bool { return v1.InFlight() == 0 })
	})
}

func TestRouter_SetLiveRepromotesDrainingPool(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, logs := front(t)
		v1, v2 := pool(t, "web", "v1", 1), pool(t, "web", "v2", 1)
		r.SetLive(v1)
		c1 := browser(t, srv)
		visit(t, c1, "web.apps.test", "/")
		r.SetLive(v2)
		c2 := browser(t, srv)
		visit(t, c2, "web.apps.test", "/")

		if old := r.SetLive(v1); old != v2 {
			t.Fatalf("SetLive(v1) = %v, want v2", old)
		}
		if got := r.Live("web"); got != v1 {
			t.Fatalf("Live = %v, want v1", got)
		}
		if got := r.Draining("web"); !slices.Equal(got, []*Pool{v2}) {
			t.Fatalf("Draining = %v, want [v2]", got)
		}
		if !v1.DrainingSince().IsZero() || v2.DrainingSince().IsZero() {
			t.Errorf("DrainingSince: v1 %v, v2 %v; want zero for the live v1 only", v1.DrainingSince(), v2.DrainingSince())
		}
		for c, want := range map[string]string{"v1": "v1/web.1", "v2": "v2/web.1"} {
			cl := map[string]*http.Client{"v1": c1, "v2": c2}[c]
			res := visit(t, cl, "web.apps.test", "/")
			if res.body != want || affinityCookie(t, res) != nil {
				t.Errorf("client of %s got %s with cookie %v, want %s and no new cookie", c, res.body, affinityCookie(t, res), want)
			}
		}
		if got := visit(t, browser(t, srv), "web.apps.test", "/").body; got != "v1/web.1" {
			t.Errorf("new client went to %s, want v1", got)
		}
		if !strings.Contains(logs.String(), "promoted=true") {
			t.Errorf("log does not say the pool was promoted:\n%s", logs)
		}
		if old := r.SetLive(v1); old != nil {
			t.Errorf("SetLive of the live pool = %v, want nil", old)
		}
	})
}

func TestRouter_RetryStaysInPinnedPool(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, logs := front(t)
		v1 := &Pool{App: "web", Release: "v1", Instances: []*Instance{
			{ID: "web.1", Addr: deadAddr(t)}, // died, and the releaser has not noticed yet
			instance("web.2", backend(t, "v1/web.2", nil, nil)),
		}}
		r.SetLive(v1)
		r.SetLive(pool(t, "web", "v2", 1))

		v := testCodec().Encode("web", Affinity{Release: "v1", Instance: "web.1", Issued: time.Now()})
		res := visit(t, browser(t, srv), "web.apps.test", "/", "Cookie", CookieName+"="+v)
		if res.code != http.StatusOK || res.body != "v1/web.2" {
			t.Fatalf("client pinned to the dead v1/web.1 got %d %q, want 200 from v1/web.2", res.code, res.body)
		}
		if !strings.Contains(logs.String(), "release=v1 instance=web.1") || !strings.Contains(logs.String(), "retry=web.2") {
			t.Errorf("log has no retry line:\n%s", logs)
		}
		if !v1.Instances[0].Healthy() {
			t.Error("the router marked the dead instance unhealthy; the releaser owns health")
		}
	})
}

func TestRouter_StaticPoolKeepsSessions(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		dirs := map[string]string{}
		for _, v := range []string{"v1", "v2"} {
			dirs[v] = t.TempDir()
			if err := os.WriteFile(filepath.Join(dirs[v], "index.html"), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r.SetLive(&Pool{App: "www", Release: "v1", StaticDir: dirs["v1"]})
		c := browser(t, srv)
		res := visit(t, c, "www.apps.test", "/")
		if a := pinnedTo(t, "www", res); a.Release != "v1" || a.Instance != "" {
			t.Fatalf("static pool pinned to %+v, want v1 without an instance", a)
		}
		r.SetLive(&Pool{App: "www", Release: "v2", StaticDir: dirs["v2"]})
		if got := visit(t, c, "www.apps.test", "/").body; got != "v1" {
			t.Errorf("pinned client got %q, want v1", got)
		}
		if got := visit(t, browser(t, srv), "www.apps.test", "/").body; got != "v2" {
			t.Errorf("new client got %q, want v2", got)
		}
	})
}

// byID returns the instance of p with the given ID.
func byID(t *testing.T, p *Pool, id string) *Instance {
	t.Helper()
	for _, inst := range p.Instances {
		if inst.ID == id {
			return inst
		}
	}
	t.Fatalf("%s has no instance %q", p.Release, id)
	return nil
}
