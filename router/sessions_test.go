package router

import (
	"strings"
	"testing"
	"time"
)

// The sessions a draining pool counts are those pinned to it that come
// back after the switch, each once, also when its cookie is re-issued;
// clients of the live pool are not counted.
func TestPool_SessionsSeenWhileDraining(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		v1, v2 := pool(t, "web", "v1", 2), pool(t, "web", "v2", 1)
		r.SetLive(v1)
		now := time.Now()
		cookie := func(ago time.Duration) string {
			return CookieName + "=" + testCodec().Encode("web", Affinity{Release: "v1", Instance: "web.1", Issued: now.Add(-ago)})
		}
		// Three sessions whose cookies were issued at different times: the
		// last one long enough ago to be re-issued on its next request.
		sessions := []string{cookie(10 * time.Second), cookie(20 * time.Second), cookie(10 * time.Minute)}
		c := browser(t, srv)
		c.Jar = nil // each request carries the cookie it is given
		for _, ck := range sessions {
			get := visit(t, c, "web.apps.test", "/", "Cookie", ck)
			if get.body != "v1/web.1" {
				t.Fatalf("pinned request went to %q", get.body)
			}
		}
		if n := v1.Sessions(); n != 0 {
			t.Errorf("a live pool counts %d sessions, want 0", n)
		}
		r.SetLive(v2)
		if n := v1.Sessions(); n != 0 {
			t.Errorf("just after the switch v1 counts %d sessions, want 0 (none came back yet)", n)
		}
		for i, ck := range sessions {
			res := visit(t, c, "web.apps.test", "/", "Cookie", ck)
			if !strings.HasPrefix(res.body, "v1/") {
				t.Fatalf("session %d went to %q after the switch", i, res.body)
			}
			if fresh := affinityCookie(t, res); fresh != nil {
				if i != 2 {
					t.Fatalf("session %d got a new cookie", i)
				}
				sessions[i] = CookieName + "=" + fresh.Value
			} else if i == 2 {
				t.Fatalf("the old cookie was not re-issued")
			}
		}
		for _, ck := range sessions { // again, with the re-issued cookie
			visit(t, c, "web.apps.test", "/", "Cookie", ck)
		}
		if n := v1.Sessions(); n != 3 {
			t.Errorf("v1 counts %d sessions, want 3", n)
		}
		if res := visit(t, c, "web.apps.test", "/"); !strings.HasPrefix(res.body, "v2/") {
			t.Fatalf("a new client went to %q", res.body)
		}
		if n, m := v1.Sessions(), v2.Sessions(); n != 3 || m != 0 {
			t.Errorf("after a new client: v1 %d, v2 %d sessions; want 3 and 0", n, m)
		}
	})
}

func TestSessionSet_ForgetsExpiredCookies(t *testing.T) {
	s := sessionSet{ttl: 60}
	s.see(1000, 0, "127.0.0.1:5000")
	s.see(1000, 0, "127.0.0.2:5000") // another address, same second
	s.see(1000, 0, "127.0.0.1:6000") // the same address, another connection
	s.see(1030, 0, "127.0.0.1:5000")
	if n := s.count(1059); n != 3 {
		t.Errorf("count = %d, want 3", n)
	}
	s.see(1000, 1070, "127.0.0.2:5000") // re-issued: the entry moves
	if n := s.count(1060); n != 2 {
		t.Errorf("once the first cookies expired, count = %d, want 2", n)
	}
	if n := s.count(1200); n != 0 {
		t.Errorf("long after, count = %d, want 0", n)
	}
}
