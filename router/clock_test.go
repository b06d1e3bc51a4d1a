package router

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestClock_AdvancesUntilClosed(t *testing.T) {
	c := newClock(time.Millisecond)
	t.Cleanup(c.close)
	start := c.now()
	if d := time.Duration(time.Now().UnixNano() - start); d < 0 || d > time.Second {
		t.Fatalf("new clock is %v behind", d)
	}
	eventually(t, "the clock to advance", func() bool { return c.now() > start })

	c.close()
	c.close() // twice is fine
	before := time.Now().UnixNano()
	if got := c.now(); got < before {
		t.Errorf("closed clock reads %d, before %d: want the exact time", got, before)
	}
}

func TestRouter_RoutesAfterClose(t *testing.T) {
	r := New(Config{Domain: testDomain, AffinityKey: testKey, Logger: slog.New(slog.DiscardHandler)})
	app := backend(t, "web", nil, nil)
	p := &Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}}
	r.SetLive(p)
	r.Close()
	r.Close()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://web.apps.test/", nil))
	if w.Code != http.StatusOK || w.Body.String() != "web" {
		t.Errorf("after Close: %d %q, want 200 web", w.Code, w.Body)
	}
	if p.LastSeen().IsZero() {
		t.Error("LastSeen not recorded after Close")
	}
}
