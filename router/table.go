package router

import (
	"maps"
	"strings"
	"sync/atomic"
)

// app is one entry of the routing table. Entries are created once per app
// and then only their pointers change, so switching releases does not copy
// the table.
//
// Sticky sessions will add the draining pools here (an atomic pointer to an
// immutable slice) and let acquire accept them for pinned clients.
type app struct {
	name string
	live atomic.Pointer[Pool]
}

// acquire counts a request in flight on p and reports whether p may still
// take it. Counting first and checking second closes the race with a
// releaser that swaps p out and then waits for InFlight(p) to reach zero:
// either the check sees the swap, or the releaser sees the count.
func (a *app) acquire(p *Pool) bool {
	p.inflight.Add(1)
	if a.live.Load() == p {
		return true
	}
	p.inflight.Add(-1)
	return false
}

// SetLive makes p the live pool of p.App in one atomic step and returns the
// pool it replaced (nil if none). It never blocks requests in flight: they
// finish on the pool they started on, and the caller may wait for them with
// WaitIdle(ctx, old).
//
// p must not be nil, and neither p nor its Instances slice may change after
// the call, except for the instances' health flags. A pool belongs to one
// Router.
func (r *Router) SetLive(p *Pool) (old *Pool) {
	name := strings.ToLower(p.App)
	p.prepared.Do(func() { r.prepare(p) })
	old = r.swap(name, p)
	r.log.Info("router: pool live", "app", name, "release", p.Release, "instances", len(p.Instances), "static", p.StaticDir != "")
	return old
}

// swap makes p the live pool of app name and returns the one it replaced.
// Writers serialise on mu; readers never take it. Only pointer swaps happen
// under the lock, so it is never held while anything drains.
func (r *Router) swap(name string, p *Pool) *Pool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := (*r.apps.Load())[name]; a != nil {
		return a.live.Swap(p)
	}
	a := &app{name: name}
	a.live.Store(p)
	m := maps.Clone(*r.apps.Load())
	m[name] = a
	r.apps.Store(&m)
	return nil
}

// Live returns the live pool of app, or nil.
func (r *Router) Live(app string) *Pool {
	if a := (*r.apps.Load())[strings.ToLower(app)]; a != nil {
		return a.live.Load()
	}
	return nil
}

// Remove forgets app; its requests then get the 404 page. Requests already
// in flight finish on the pool they started on.
func (r *Router) Remove(app string) {
	name := strings.ToLower(app)
	if r.remove(name) {
		r.log.Info("router: app removed", "app", name)
	}
}

// remove deletes app name from the table and reports whether it was there.
func (r *Router) remove(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := (*r.apps.Load())[name]
	if a == nil {
		return false
	}
	m := maps.Clone(*r.apps.Load())
	delete(m, name)
	r.apps.Store(&m)
	// A request that loaded the old table may still hold a; clearing live
	// makes its acquire fail so it routes again against the new table.
	a.live.Store(nil)
	return true
}
