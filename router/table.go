package router

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// app is one entry of the routing table. Entries are created once per app
// and then only their state pointer changes, so switching releases does not
// copy the table.
type app struct {
	name  string
	state atomic.Pointer[appState]
}

// appState is one app's pools at one moment. It is never modified once
// stored: writers store a new one, so a request sees the live and draining
// pools of one moment with a single atomic load.
type appState struct {
	live     *Pool   // nil only for an app being removed
	draining []*Pool // most recently replaced first; one per Release, none of live's
}

// emptyState is the state of an app that has been removed.
var emptyState = &appState{}

// find returns the pool of release, live or draining, or nil.
func (s *appState) find(release []byte) *Pool {
	if s.live != nil && s.live.Release == string(release) {
		return s.live
	}
	for _, p := range s.draining {
		if p.Release == string(release) {
			return p
		}
	}
	return nil
}

// acquire counts a request in flight on p, which was chosen from state s,
// and reports whether s is still the app's state. Counting first and
// checking second closes the race with a releaser that retires p and then
// waits for InFlight to reach zero: either the check sees the new state, or
// the releaser sees the count.
func (a *app) acquire(s *appState, p *Pool) bool {
	p.inflight.Add(1)
	if a.state.Load() == s {
		return true
	}
	p.inflight.Add(-1)
	return false
}

// SetLive makes p the live pool of p.App in one atomic step and returns the
// pool it replaced (nil if none, or if p was already live).
//
// The replaced pool starts draining: it keeps serving the clients whose
// sessions are pinned to it, and the requests in flight on it, until the
// caller retires it with Retire once its sessions are idle (see
// Pool.LastSeen), waits with WaitIdle and stops its processes. Any number of
// pools may drain at once.
//
// An app has at most one pool per Release, since cookies name pools by it.
// If the live pool has p's Release (p is a new view of the same release, as
// after scaling), it is replaced without draining: its sessions continue on
// p, on the instances with the same IDs. If a draining pool has p's Release
// (a rollback to a warm pool), it leaves the draining pools, and its
// sessions stay with it if it is p.
//
// p must not be nil, and neither p nor its Instances slice may change after
// the call, except for the instances' health flags. A pool belongs to one
// Router.
func (r *Router) SetLive(p *Pool) (old *Pool) {
	name := strings.ToLower(p.App)
	p.prepared.Do(func() { r.prepare(p) })

	r.mu.Lock()
	a := (*r.apps.Load())[name]
	s := emptyState
	if a != nil {
		s = a.state.Load()
	}
	if s.live == p {
		r.mu.Unlock()
		return nil
	}
	now := time.Now().UnixNano()
	next := &appState{live: p, draining: make([]*Pool, 0, len(s.draining)+1)}
	if old = s.live; old != nil {
		old.drainingSince.Store(now)
		if old.Release != p.Release {
			next.draining = append(next.draining, old)
		}
	}
	promoted := false
	for _, d := range s.draining {
		if d.Release == p.Release {
			promoted = promoted || d == p
			continue
		}
		next.draining = append(next.draining, d)
	}
	p.drainingSince.Store(0)
	if a != nil {
		a.state.Store(next)
	} else {
		// A new entry gets its state before the table publishes it.
		a = &app{name: name}
		a.state.Store(next)
		m := maps.Clone(*r.apps.Load())
		m[name] = a
		r.apps.Store(&m)
	}
	r.mu.Unlock()

	args := []any{"app", name, "release", p.Release, "instances", len(p.Instances), "static", p.StaticDir != "", "draining", len(next.draining)}
	if old != nil {
		args = append(args, "replaced", old.Release)
	}
	if promoted {
		args = append(args, "promoted", true)
	}
	r.log.Info("router: pool live", args...)
	return old
}

// Retire removes the draining pool p from the router: the clients pinned to
// it go to the live pool with a new affinity cookie. Requests in flight on
// p finish there; wait for them with WaitIdle before stopping p's
// processes. Retire does nothing if p is not draining; in particular the
// live pool stays live.
func (r *Router) Retire(p *Pool) {
	name := strings.ToLower(p.App)
	r.mu.Lock()
	a := (*r.apps.Load())[name]
	if a == nil {
		r.mu.Unlock()
		return
	}
	s := a.state.Load()
	i := slices.Index(s.draining, p)
	if i < 0 {
		r.mu.Unlock()
		return
	}
	a.state.Store(&appState{live: s.live, draining: slices.Delete(slices.Clone(s.draining), i, i+1)})
	r.mu.Unlock()
	r.log.Info("router: pool retired", "app", name, "release", p.Release, "draining", len(s.draining)-1)
}

// AddDraining adds p to its app's draining pools, as the oldest, without
// its ever being live: a router that starts after a release was replaced
// (a replica of several) takes up the pools that still have pinned
// sessions. A draining pool of the same release is replaced. It reports
// false, changing nothing, when the app has no live pool or p's release
// is the live one.
func (r *Router) AddDraining(p *Pool) bool {
	name := strings.ToLower(p.App)
	p.prepared.Do(func() { r.prepare(p) })
	r.mu.Lock()
	a := (*r.apps.Load())[name]
	if a == nil {
		r.mu.Unlock()
		return false
	}
	s := a.state.Load()
	if s.live == nil || s.live.Release == p.Release {
		r.mu.Unlock()
		return false
	}
	draining := make([]*Pool, 0, len(s.draining)+1)
	for _, d := range s.draining {
		if d.Release != p.Release {
			draining = append(draining, d)
		}
	}
	p.drainingSince.Store(time.Now().UnixNano())
	a.state.Store(&appState{live: s.live, draining: append(draining, p)})
	r.mu.Unlock()
	r.log.Info("router: draining pool added", "app", name, "release", p.Release, "draining", len(draining)+1)
	return true
}

// Draining returns app's draining pools, most recently replaced first: the
// router's own view, which the releaser's tests compare with theirs.
func (r *Router) Draining(app string) []*Pool {
	if a := (*r.apps.Load())[strings.ToLower(app)]; a != nil {
		return slices.Clone(a.state.Load().draining)
	}
	return nil
}

// Remove forgets app with its live and draining pools; its requests then
// get the 404 page. Requests already in flight finish on the pool they
// started on.
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
	// A request that loaded the old table may still hold a; a new state
	// makes its acquire fail so it routes again against the new table.
	a.state.Store(emptyState)
	return true
}
