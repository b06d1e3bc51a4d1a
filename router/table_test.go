package router

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func TestRouter_SetLiveReturnsReplacedPool(t *testing.T) {
	r := New(Config{Domain: testDomain})
	v1 := &Pool{App: "web", Release: "v1"}
	v2 := &Pool{App: "web", Release: "v2"}
	if got := r.Live("web"); got != nil {
		t.Fatalf("Live before SetLive = %v, want nil", got)
	}
	if old := r.SetLive(v1); old != nil {
		t.Fatalf("SetLive(v1) = %v, want nil", old)
	}
	if old := r.SetLive(v2); old != v1 {
		t.Fatalf("SetLive(v2) = %v, want v1", old)
	}
	if got := r.Live("web"); got != v2 {
		t.Fatalf("Live = %v, want v2", got)
	}
	if got := r.Live("WEB"); got != v2 {
		t.Fatalf("Live(%q) = %v, want v2: app names are case-insensitive", "WEB", got)
	}
	if got := r.Live("other"); got != nil {
		t.Fatalf("Live(other) = %v, want nil", got)
	}
}

func TestRouter_RemoveForgetsApp(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		v1 := &Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", backend(t, "v1", nil, nil))}}
		r.SetLive(v1)
		r.SetLive(&Pool{App: "api", Release: "v1", Instances: []*Instance{instance("web.1", backend(t, "api", nil, nil))}})

		r.Remove("Web")
		r.Remove("never-existed")
		if got := r.Live("web"); got != nil {
			t.Fatalf("Live after Remove = %v, want nil", got)
		}
		if res := get(t, c, srv, "web.apps.test", "/"); res.code != http.StatusNotFound {
			t.Fatalf("status after Remove %d, want 404", res.code)
		}
		if res := get(t, c, srv, "api.apps.test", "/"); res.body != "api" {
			t.Fatalf("other app after Remove: %q, want api", res.body)
		}
		if old := r.SetLive(v1); old != nil {
			t.Fatalf("SetLive after Remove = %v, want nil: the app starts afresh", old)
		}
		if res := get(t, c, srv, "web.apps.test", "/"); res.body != "v1" {
			t.Fatalf("after re-adding: %q, want v1", res.body)
		}
	})
}

func TestApp_AcquireFailsOnChangedState(t *testing.T) {
	a := &app{name: "web"}
	v1, v2 := &Pool{}, &Pool{}
	s1 := &appState{live: v1}
	a.state.Store(s1)
	if !a.acquire(s1, v1) {
		t.Fatal("acquire with the current state failed")
	}
	// v1 is still draining in s2, but the request chose it from s1 and
	// must choose again.
	a.state.Store(&appState{live: v2, draining: []*Pool{v1}})
	if a.acquire(s1, v1) {
		t.Fatal("acquire with a replaced state succeeded")
	}
	if got := v1.inflight.Load(); got != 1 {
		t.Fatalf("inflight = %d, want 1: a failed acquire must not leave a count", got)
	}
}

func TestRouter_DrainingAndRetire(t *testing.T) {
	r := New(Config{Domain: testDomain, AffinityKey: testKey})
	t.Cleanup(r.Close)
	v1, v2, v3 := &Pool{App: "web", Release: "v1"}, &Pool{App: "web", Release: "v2"}, &Pool{App: "Web", Release: "v3"}
	if got := r.Draining("web"); got != nil {
		t.Fatalf("Draining of an unknown app = %v, want nil", got)
	}
	r.SetLive(v1)
	r.SetLive(v2)
	if old := r.SetLive(v3); old != v2 {
		t.Fatalf("SetLive(v3) = %v, want v2", old)
	}
	if got := r.Draining("WEB"); !slices.Equal(got, []*Pool{v2, v1}) {
		t.Fatalf("Draining = %v, want [v2 v1]", got)
	}
	r.Draining("web")[0] = nil // a copy: the caller cannot change the router
	if got := r.Draining("web"); !slices.Equal(got, []*Pool{v2, v1}) {
		t.Fatalf("Draining after changing a returned slice = %v, want [v2 v1]", got)
	}

	r.Retire(v1)
	r.Retire(v1)
	r.Retire(v3)
	if got := r.Draining("web"); !slices.Equal(got, []*Pool{v2}) || r.Live("web") != v3 {
		t.Fatalf("after Retire(v1): Draining = %v, Live = %v; want [v2], v3", got, r.Live("web"))
	}
	if old := r.SetLive(v2); old != v3 {
		t.Fatalf("SetLive(v2) = %v, want v3", old)
	}
	if got := r.Draining("web"); !slices.Equal(got, []*Pool{v3}) {
		t.Fatalf("after promoting v2: Draining = %v, want [v3]", got)
	}
	// A retired pool can be made live again: it is just a pool.
	r.SetLive(v1)
	if got := r.Draining("web"); !slices.Equal(got, []*Pool{v2, v3}) || r.Live("web") != v1 {
		t.Fatalf("after SetLive(v1): Draining = %v, Live = %v; want [v2 v3], v1", got, r.Live("web"))
	}

	r.Remove("web")
	if got := r.Draining("web"); got != nil {
		t.Fatalf("Draining after Remove = %v, want nil", got)
	}
}

func TestAppState_Find(t *testing.T) {
	live, v1, v2 := &Pool{Release: "v3"}, &Pool{Release: "v1"}, &Pool{Release: "v2"}
	s := &appState{live: live, draining: []*Pool{v2, v1}}
	for release, want := range map[string]*Pool{"v3": live, "v2": v2, "v1": v1, "v4": nil, "": nil} {
		if got := s.find([]byte(release)); got != want {
			t.Errorf("find(%q) = %p, want %p", release, got, want)
		}
	}
	if got := emptyState.find([]byte("v1")); got != nil {
		t.Errorf("find in the empty state = %v", got)
	}
}

func TestRouter_SetLiveOfSameReleaseReplacesWithoutDraining(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		v1 := pool(t, "web", "v1", 2)
		r.SetLive(v1)
		c := browser(t, srv)
		first := visit(t, c, "web.apps.test", "/").body

		// Scaling up: a new view of v1 with the same instances and one more.
		scaled := &Pool{App: "web", Release: "v1", Instances: append(v1.Instances[:2:2], instance("web.3", backend(t, "v1/web.3", nil, nil)))}
		if old := r.SetLive(scaled); old != v1 {
			t.Fatalf("SetLive(scaled v1) = %v, want the old v1", old)
		}
		if got := r.Draining("web"); len(got) != 0 {
			t.Fatalf("Draining after replacing v1 with v1 = %v, want none", got)
		}
		if v1.DrainingSince().IsZero() {
			t.Error("DrainingSince of the replaced view is zero")
		}
		res := visit(t, c, "web.apps.test", "/")
		if res.body != first || affinityCookie(t, res) != nil {
			t.Errorf("pinned client got %s with cookie %v after scaling, want %s and no new cookie", res.body, affinityCookie(t, res), first)
		}

		// A new view of a draining release replaces it too.
		v2 := pool(t, "web", "v2", 1)
		r.SetLive(v2)
		again := &Pool{App: "web", Release: "v1", Instances: scaled.Instances}
		if old := r.SetLive(again); old != v2 {
			t.Fatalf("SetLive(v1 again) = %v, want v2", old)
		}
		if got := r.Draining("web"); !slices.Equal(got, []*Pool{v2}) {
			t.Fatalf("Draining = %v, want [v2]: the old view of v1 is gone", got)
		}
		if got := visit(t, c, "web.apps.test", "/").body; got != first {
			t.Errorf("pinned client got %s, want %s", got, first)
		}
	})
}

// A router that starts after a release was replaced (one replica of
// several) takes up its draining pool with AddDraining: the sessions
// another router pinned to it keep reaching it, and no new client ever
// does.
func TestRouter_AddDrainingServesOnlyThePinned(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		first, srv1, _ := front(t)
		v1, v2 := pool(t, "web", "v1", 1), pool(t, "web", "v2", 1)
		first.SetLive(v1)
		pinned := browser(t, srv1)
		if res := visit(t, pinned, "web."+testDomain, "/"); res.body != "v1/web.1" {
			t.Fatalf("first router: %q", res.body)
		}

		late, srv2, _ := front(t) // the same key
		if late.AddDraining(&Pool{App: "web", Release: "v1", Instances: v1.Instances}) {
			t.Fatal("AddDraining with no live pool: want false")
		}
		late.SetLive(&Pool{App: "web", Release: "v2", Instances: v2.Instances})
		if late.AddDraining(&Pool{App: "web", Release: "v2", Instances: v2.Instances}) {
			t.Fatal("AddDraining of the live release: want false")
		}
		if !late.AddDraining(&Pool{App: "web", Release: "v1", Instances: v1.Instances}) {
			t.Fatal("AddDraining(v1) = false")
		}
		if d := late.Draining("web"); len(d) != 1 || d[0].Release != "v1" || d[0].DrainingSince().IsZero() {
			t.Fatalf("Draining = %v", d)
		}
		// The pinned browser's cookie, sent to the late router.
		u := &url.URL{Scheme: "http", Host: "web." + testDomain, Path: "/"}
		moved := browser(t, srv2)
		moved.Jar.SetCookies(u, pinned.Jar.Cookies(u))
		for range 3 {
			if res := visit(t, moved, "web."+testDomain, "/"); res.body != "v1/web.1" {
				t.Fatalf("the client pinned to v1, at the late router: %q", res.body)
			}
		}
		for range 3 {
			if res := visit(t, browser(t, srv2), "web."+testDomain, "/"); res.body != "v2/web.1" {
				t.Fatalf("a new client at the late router: %q, want v2", res.body)
			}
		}
	})
}
