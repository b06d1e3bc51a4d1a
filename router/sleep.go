package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// A draining pool may sleep: its processes stop, and a pool of the same
// Release with no instances takes its place, keeping its pins (the
// affinity cookies name the pool by Release and the instance by ID), its
// last request and its sessions. A request whose cookie binds to a
// sleeping pool wakes it: the waker (the releaser's) starts the release
// again, health-checks it and swaps the awake pool in (Replace), and the
// request, with every other that arrived meanwhile, is then routed to it.
// Only pinned requests reach a sleeping draining pool, so a client that
// holds no pin to it never wakes it; a sleeping live pool (an idle app
// that sleeps, ps:autosleep) is woken by any request. A pool that does not wake is retired by the
// waker, and its requests go to the live pool with a new cookie, as when
// a pool has gone.

// sleeper is what a sleeping pool holds: the one wake-up of the pool,
// shared by the requests that wait for it.
type sleeper struct {
	wake func(sleeping *Pool) error

	once sync.Once
	done chan struct{} // closed when the wake-up has ended
	err  error         // its outcome, once done is closed
}

// Sleeping reports whether p is a sleeping pool.
func (p *Pool) Sleeping() bool { return p.sleep != nil }

// Sleep puts p, a draining pool or the live pool of an idle app, to sleep:
// a pool of p's Release with no instance takes its place, with p's pins, last request and sessions,
// and is returned; wake, called once with it by the first pinned request,
// must start the release again and Replace the sleeping pool with the
// awake one, or Retire it. Nil when p is neither draining nor live. A
// live pool that sleeps is woken by any request. The caller then
// waits for p's requests in flight (WaitIdle) and stops its processes.
func (r *Router) Sleep(p *Pool, wake func(sleeping *Pool) error) *Pool {
	s := NewSleeping(p.App, p.Release, wake)
	if !r.Replace(p, s) {
		return nil
	}
	r.log.Info("router: pool sleeping", "app", strings.ToLower(p.App), "release", p.Release)
	return s
}

// NewSleeping returns a sleeping pool of app's release, not yet in a
// router, that wake wakes (see Sleep): one a restart takes back asleep.
func NewSleeping(app, release string, wake func(sleeping *Pool) error) *Pool {
	return &Pool{App: app, Release: release, sleep: &sleeper{wake: wake, done: make(chan struct{})}}
}

// Seen records a request at t on p: a pool taken back after a restart
// counts as seen then, since the requests its sessions made before are
// not known, and its pins must outlive the restart by the session TTL.
func (p *Pool) Seen(t time.Time) { p.seen(t.UnixNano()) }

// Replace puts pool next in the place of old, a draining pool or the live
// one, with old's pins, last request and sessions: a sleeping pool for an
// awake one and back. It reports false, and changes nothing, when old is
// neither (retired or replaced meanwhile). next must have old's App and
// Release.
func (r *Router) Replace(old, next *Pool) bool {
	name := strings.ToLower(old.App)
	next.prepared.Do(func() { r.prepare(next) })
	r.mu.Lock()
	defer r.mu.Unlock()
	a := (*r.apps.Load())[name]
	if a == nil || next.Release != old.Release {
		return false
	}
	s := a.state.Load()
	next.drainingSince.Store(old.drainingSince.Load())
	next.seen(old.lastSeen.Load())
	if s.live == old { // an idle app's live pool (autosleep)
		next.sessions.take(&old.sessions)
		a.state.Store(&appState{live: next, draining: s.draining})
		return true
	}
	i := slices.Index(s.draining, old)
	if i < 0 {
		return false
	}
	next.sessions.take(&old.sessions)
	draining := slices.Clone(s.draining)
	draining[i] = next
	a.state.Store(&appState{live: s.live, draining: draining})
	return true
}

// Wake wakes p if it sleeps, as its next request would, and returns when
// it is awake or did not wake, or ctx is done.
func (r *Router) Wake(ctx context.Context, p *Pool) error {
	if p.sleep == nil {
		return nil
	}
	return r.awaken(ctx, p)
}

// errAsleep is a sleeping pool's when its wake-up did not end in time for
// a request.
var errAsleep = errors.New("the pool did not wake in time")

// awaken wakes the sleeping pool p, or waits for the wake-up in progress,
// until it ends or ctx is done. The wake-up itself does not depend on
// the request that started it: a client that gives up does not cut it
// short for the others.
func (r *Router) awaken(ctx context.Context, p *Pool) error {
	s := p.sleep
	s.once.Do(func() {
		start := time.Now()
		go func() {
			s.err = s.wake(p)
			if s.err != nil {
				r.log.Warn("router: pool did not wake: its sessions go to the live pool", "app", p.App, "release", p.Release, "err", s.err)
			} else {
				r.log.Info("router: pool woken", "app", p.App, "release", p.Release, "took", time.Since(start).Round(time.Millisecond).String())
			}
			close(s.done)
		}()
	})
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return errAsleep
	}
}

// take moves the sessions of from into s.
func (s *sessionSet) take(from *sessionSet) {
	from.mu.Lock()
	m := from.m
	from.m = nil
	from.mu.Unlock()
	s.mu.Lock()
	if s.m == nil {
		s.m = m
	} else {
		for k := range m {
			s.m[k] = struct{}{}
		}
	}
	s.mu.Unlock()
}
