package releaser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/router"
	"github.com/slipway/slipway/supervisor"
)

// A draining pool that no request reached for DrainSleepAfter sleeps: the
// router keeps its place, pins and sessions (router.Sleep) and its
// processes stop, so an old release holds no memory while it waits for
// sessions that may never come back. The first request pinned to it wakes
// it: its instances start again from the kept release directory with the
// release's own config, pass their health check, and take the requests
// that waited (wake). A pool that does not wake within DeployTimeout is
// retired: its sessions go to the live release.

// sleep puts p, a draining pool of a, to sleep. Callers hold drainMu and
// a.mu.
func (r *Releaser) sleep(a *app, p *pool) {
	rp := p.routePool()
	n := len(p.members())
	s := r.cfg.Router.Sleep(rp, func(sleeping *router.Pool) error { return r.wake(a, p, sleeping, n) })
	if s == nil {
		return
	}
	now := time.Now()
	p.mu.Lock()
	members := p.instances
	p.instances, p.route, p.asleep = nil, s, now
	p.mu.Unlock()
	r.cfg.Recorder.Sleeping(a.name, p.version, now)
	var workers []*worker
	if p == a.live && a.sleepWorkers { // an idle app's workers sleep too
		workers = a.workers.list()
		a.workers = &workerSet{version: p.version}
	}
	r.logger.Info("release sleeping", "app", a.name, "release", p.version.String(), "instances", n)
	if r.cfg.OnSleep != nil {
		r.cfg.OnSleep(a.name)
	}
	r.retiring.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.StopGrace)
		r.cfg.Router.WaitIdle(ctx, rp)
		cancel()
		var wg sync.WaitGroup
		for _, in := range members {
			wg.Go(in.stop)
		}
		wg.Wait()
		r.stopAll(workers)
		r.recordInstances(a.name, p)
	})
}

// wake starts web.1 of p, asleep as sleeping in the router, and swaps it
// in, then starts the rest of its n instances in the background (growPool):
// the requests that wait pay for one start, not for n on a few cores. A
// session pinned to web.2 is served by web.1 meanwhile, of the same
// release. On failure p is retired. The router calls it once, for the
// first request pinned to p, and holds every such request until it
// returns.
func (r *Releaser) wake(a *app, p *pool, sleeping *router.Pool, n int) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.DeployTimeout)
	defer cancel()
	members, err := r.startInstances(ctx, p, 1, 1, io.Discard)
	if err != nil {
		r.drainMu.Lock()
		a.mu.Lock()
		switch i := slices.Index(a.draining, p); {
		case p == a.live:
			// The app's own pool is not retired: it sleeps on, and the
			// next request tries again.
			r.logger.Warn("sleeping app did not wake: the next request tries again", "app", a.name, "release", p.version.String(), "err", err)
			fresh := router.NewSleeping(sleeping.App, sleeping.Release, func(s *router.Pool) error { return r.wake(a, p, s, n) })
			if r.cfg.Router.Replace(sleeping, fresh) {
				p.mu.Lock()
				p.route = fresh
				p.mu.Unlock()
			}
		case i >= 0 && !r.detached.Load():
			r.logger.Warn("sleeping release did not wake: retiring it", "app", a.name, "release", p.version.String(), "err", err)
			a.draining = slices.Delete(a.draining, i, i+1)
			r.retire(p, "did not wake")
		}
		a.mu.Unlock()
		r.drainMu.Unlock()
		return err
	}
	rp := &router.Pool{App: sleeping.App, Release: sleeping.Release}
	for _, in := range members {
		rp.Instances = append(rp.Instances, in.route)
	}
	r.drainMu.Lock() // not during a Detach, nor a retire pass
	a.mu.Lock()
	live := p == a.live
	ok := !r.detached.Load() && (live || slices.Contains(a.draining, p)) && r.cfg.Router.Replace(sleeping, rp)
	if ok {
		p.mu.Lock()
		p.instances, p.route, p.asleep, p.woke = members, rp, time.Time{}, time.Now()
		p.mu.Unlock()
	}
	wakeWorkers := ok && live && a.sleepWorkers
	a.mu.Unlock()
	r.drainMu.Unlock()
	if wakeWorkers {
		r.swapWorkers(a, p.spec, p.version, io.Discard)
	}
	if !ok {
		for _, in := range members {
			in.stop()
		}
		return errors.New("the release was retired while it woke")
	}
	r.recordInstances(a.name, p)
	r.cfg.Recorder.Sleeping(a.name, p.version, time.Time{})
	if n > 1 {
		r.retiring.Go(func() { r.growPool(a, p, rp, n) })
	}
	took := time.Since(start)
	r.logger.Info("release woken", "app", a.name, "release", p.version.String(), "instances", len(members), "took", took.Round(time.Millisecond).String())
	r.appLog(a.name).Line("slipway", p.version.String(), []byte(fmt.Sprintf("slipway: %s woke for a session pinned to it (%s)", p.version, took.Round(time.Millisecond))))
	if r.cfg.OnWake != nil {
		r.cfg.OnWake(a.name, took)
	}
	return nil
}

// growPool starts web.2 … web.n of p, just woken with web.1 as rp, and
// swaps the whole pool in, unless p changed meanwhile (it slept again, was
// retired, or scaled): then the new instances stop.
func (r *Releaser) growPool(a *app, p *pool, rp *router.Pool, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.DeployTimeout)
	defer cancel()
	more, err := r.startInstances(ctx, p, 2, n, io.Discard)
	if err != nil {
		r.logger.Warn("a woken release runs fewer instances than its scale", "app", a.name, "release", p.version.String(), "err", err)
		return
	}
	r.drainMu.Lock()
	a.mu.Lock()
	p.mu.Lock()
	members := append(slices.Clone(p.instances), more...)
	grown := &router.Pool{App: rp.App, Release: rp.Release}
	for _, in := range members {
		grown.Instances = append(grown.Instances, in.route)
	}
	ok := !r.detached.Load() && p.route == rp && (p == a.live || slices.Contains(a.draining, p)) && r.cfg.Router.Replace(rp, grown)
	if ok {
		p.instances, p.route = members, grown
	}
	p.mu.Unlock()
	a.mu.Unlock()
	r.drainMu.Unlock()
	if !ok {
		for _, in := range more {
			in.stop()
		}
		return
	}
	r.recordInstances(a.name, p)
}

// sleepy reports whether p should sleep at now: it has processes, none
// of its requests is in flight, and none came for after since it drains
// (or, live, since it started or last woke).
func (r *Releaser) sleepy(p *pool, now time.Time, after time.Duration) bool {
	if after <= 0 || p.command == "" {
		return false
	}
	p.mu.Lock()
	asleep, rp, last := !p.asleep.IsZero(), p.route, p.started
	if p.woke.After(last) {
		last = p.woke
	}
	p.mu.Unlock()
	if asleep || rp.Sleeping() || rp.InFlight() != 0 {
		return false
	}
	for _, t := range []time.Time{rp.LastSeen(), rp.DrainingSince()} {
		if t.After(last) {
			last = t
		}
	}
	return now.Sub(last) >= after
}

// SetAutosleep makes app's live pool sleep after that long without a
// request, its workers too when workers is set (ps:autosleep); after 0
// turns it off, waking a live pool that sleeps.
func (r *Releaser) SetAutosleep(app string, after time.Duration, workers bool) {
	a := r.app(app)
	a.mu.Lock()
	a.autosleep, a.sleepWorkers = after, workers
	p := a.live
	a.mu.Unlock()
	if after > 0 || p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.DeployTimeout)
	defer cancel()
	r.cfg.Router.Wake(ctx, p.routePool())
}

// adoptSleeping takes back p, a draining pool of a that slept (since
// asleep) when the slipway before this one stopped: the router gets it
// asleep, its pins kept, and its first pinned request wakes it as if
// nothing had restarted. It is made live for the moment, as AdoptDraining
// does, and drains when the next pool is taken back.
func (r *Releaser) adoptSleeping(a *app, p *pool, asleep time.Time) {
	n := a.scale("web", p.spec.AppJSON.Quantity("web", 1))
	s := router.NewSleeping(p.spec.App, p.version.String(), func(sleeping *router.Pool) error { return r.wake(a, p, sleeping, n) })
	s.Seen(time.Now())
	p.mu.Lock()
	p.route, p.asleep = s, asleep
	p.mu.Unlock()
	a.mu.Lock()
	if a.live != nil {
		a.draining = append(a.draining, a.live)
	}
	a.live = p
	r.cfg.Router.SetLive(s)
	a.mu.Unlock()
	r.logger.Info("sleeping release taken back", "app", a.name, "release", p.version.String())
}

// AdoptAsleep takes back the live pool of an idle app that slept (since
// asleep) when the slipway before this one stopped, as it was: asleep,
// its workers adopted unless they slept with it. It reports false, doing
// nothing, when any of its web instances runs (Adopt takes them back).
func (r *Releaser) AdoptAsleep(spec Spec, recs []slipway.InstanceRecord, asleep time.Time) bool {
	for _, rec := range recs {
		if _, ok := webNumber(rec.ID); ok && supervisor.Alive(rec.PID, rec.StartTicks) {
			return false
		}
	}
	a := r.app(spec.App)
	a.mu.Lock()
	a.scaleSet = spec.Scale
	a.mu.Unlock()
	p, err := r.newPool(spec)
	if err != nil || p.command == "" || spec.StaticDir != "" {
		return false
	}
	r.adoptSleeping(a, p, asleep)
	a.mu.Lock()
	sleepWorkers := a.sleepWorkers
	a.mu.Unlock()
	if !sleepWorkers {
		r.adoptWorkers(a, spec, recs)
	}
	r.recordLive(a)
	r.schedule(a.name, spec, spec.Version, io.Discard)
	return true
}
