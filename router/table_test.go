package router

import (
	"net/http"
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
}

func TestApp_AcquireFailsOnReplacedPool(t *testing.T) {
	a := &app{name: "web"}
	v1, v2 := &Pool{}, &Pool{}
	a.live.Store(v1)
	if !a.acquire(v1) {
		t.Fatal("acquire of the live pool failed")
	}
	a.live.Store(v2)
	if a.acquire(v1) {
		t.Fatal("acquire of a replaced pool succeeded")
	}
	if got := v1.inflight.Load(); got != 1 {
		t.Fatalf("inflight = %d, want 1: a failed acquire must not leave a count", got)
	}
}
