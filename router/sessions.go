package router

import (
	"net/netip"
	"sync"
)

// maxTrackedSessions bounds the sessions a draining pool keeps count of;
// beyond it Sessions says "at least" this many.
const maxTrackedSessions = 1 << 16

// sessionSet counts the sessions pinned to a draining pool that the router
// has seen since it drains. Cookies carry no session id (every client
// pinned to an instance in one second gets the same cookie), so a session
// is known by the second its cookie was issued and the client's address;
// when the router re-issues a session's cookie the entry moves to the new
// second, and it is gone once the cookie it stands for has expired.
// Clients behind one address whose cookies were issued in the same second
// count as one. Live pools keep no count: the requests to them pay
// nothing.
type sessionSet struct {
	ttl int64 // seconds a cookie is valid (Codec.ttl)

	mu sync.Mutex
	m  map[sessionKey]struct{}
}

type sessionKey struct {
	issued int64 // unix seconds
	addr   netip.Addr
}

// see records a request of the session whose cookie was issued at issued
// from remoteAddr; reissued, when not zero, is the issue second of the
// cookie the response gives it instead.
func (s *sessionSet) see(issued, reissued int64, remoteAddr string) {
	ap, _ := netip.ParseAddrPort(remoteAddr) // the zero Addr for a unix socket or a test's odd address
	k := sessionKey{issued: issued, addr: ap.Addr()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[sessionKey]struct{}{}
	}
	if reissued != 0 {
		delete(s.m, k)
		k.issued = reissued
	}
	if len(s.m) < maxTrackedSessions {
		s.m[k] = struct{}{}
	}
}

// count returns how many sessions seen hold a cookie still valid at now
// (unix seconds), forgetting the others.
func (s *sessionSet) count(now int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.m {
		if k.issued+s.ttl <= now {
			delete(s.m, k)
		}
	}
	return len(s.m)
}
