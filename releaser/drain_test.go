package releaser

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A pool that no request reached for SessionTTL before it stopped being
// live holds no session: it is retired at once, not SessionTTL after the
// switch. One with a pinned client stays.
func TestDraining_AnIdlePoolIsRetiredAtOnce(t *testing.T) {
	f := newFixture(t, Config{SessionTTL: time.Hour})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.release("app", "1", nil); err != nil { // v1 saw no request
		t.Fatal(err)
	}
	waitFor(t, "v1, which no client reached, to retire", func() bool { return len(f.rel.Draining("app")) == 0 })

	pinned := jarClient(t)
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v2") {
		t.Fatalf("got %q, want v2", got)
	}
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	f.rel.retireIdle(time.Now())
	if d := f.rel.Draining("app"); len(d) != 1 || d[0].Release != 2 {
		t.Errorf("draining %+v, want v2, which a client is pinned to", d)
	}
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v2") {
		t.Errorf("the pinned client got %q, want v2", got)
	}
}

// Beyond MaxDraining the oldest draining pool is retired, and its
// sessions move to the live release.
func TestDraining_BeyondTheCapTheOldestIsRetired(t *testing.T) {
	f := newFixture(t, Config{SessionTTL: time.Hour, MaxDraining: 2})
	var clients []*http.Client // by release, from v1
	for range 4 {
		if _, err := f.release("app", "1", nil); err != nil {
			t.Fatal(err)
		}
		c := jarClient(t)
		if got := f.get(c, "app"); !strings.HasPrefix(got, "200 release v") {
			t.Fatalf("got %q", got)
		}
		clients = append(clients, c)
	}
	f.rel.retireIdle(time.Now())
	d := f.rel.Draining("app")
	if len(d) != 2 || d[0].Release != 3 || d[1].Release != 2 {
		t.Errorf("draining %+v, want v3 and v2, newest first", d)
	}
	for v, want := range []string{"v4", "v2", "v3", "v4"} {
		if got := f.get(clients[v], "app"); !strings.HasPrefix(got, "200 release "+want) {
			t.Errorf("v%d's client got %q, want %s", v+1, got, want)
		}
	}
}
