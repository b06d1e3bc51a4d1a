package router

// route is where one request goes.
type route struct {
	pool   *Pool
	inst   int   // index into pool.Instances; -1 for a static pool
	issue  bool  // the response sets a new affinity cookie
	pinned int64 // the issue second of the cookie that chose pool; 0 if none did
	wake   bool  // pool sleeps: wake it, then route again
}

// choose picks the pool and instance for a request from state s. t is the
// request's verified affinity cookie, or nil; a cookie older than refresh
// seconds at now is re-issued, so that an active session does not expire.
// choose returns a route with a nil pool when no pool can take the request.
//
// A pinned session stays on its pool and instance while the instance is
// healthy, moves to another healthy instance of the same pool if not, and
// to the live pool if its pool is gone or has no healthy instance. Everyone
// else goes to the live pool.
func (s *appState) choose(t *ticket, now, refresh int64) route {
	if t != nil {
		if p := s.find(t.release); p != nil {
			if p.sleep != nil {
				return route{pool: p, inst: -1, pinned: t.issued, wake: true}
			}
			stale := now-t.issued > refresh
			if p.static != nil {
				return route{pool: p, inst: -1, issue: stale, pinned: t.issued}
			}
			if i := p.index(t.instance); i >= 0 && p.Instances[i].Healthy() {
				return route{pool: p, inst: i, issue: stale, pinned: t.issued}
			}
			if i := p.pick(-1); i >= 0 {
				return route{pool: p, inst: i, issue: true, pinned: t.issued}
			}
		}
	}
	p := s.live
	if p == nil {
		return route{}
	}
	if p.sleep != nil {
		return route{pool: p, inst: -1, wake: true}
	}
	if p.static != nil {
		return route{pool: p, inst: -1, issue: true}
	}
	i := p.pick(-1)
	if i < 0 {
		return route{}
	}
	return route{pool: p, inst: i, issue: true}
}
