package releaser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/slipway/slipway/router"
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
		r.recordInstances(a.name, p)
	})
}

// wake starts n web instances of p, asleep as sleeping in the router, and
// swaps them in; on failure p is retired. The router calls it once, for
// the first request pinned to p, and holds every such request until it
// returns.
func (r *Releaser) wake(a *app, p *pool, sleeping *router.Pool, n int) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.DeployTimeout)
	defer cancel()
	members, err := r.startInstances(ctx, p, 1, max(n, 1), io.Discard)
	if err != nil {
		r.logger.Warn("sleeping release did not wake: retiring it", "app", a.name, "release", p.version.String(), "err", err)
		r.drainMu.Lock()
		a.mu.Lock()
		if i := slices.Index(a.draining, p); i >= 0 && !r.detached.Load() {
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
	ok := !r.detached.Load() && slices.Contains(a.draining, p) && r.cfg.Router.Replace(sleeping, rp)
	if ok {
		p.mu.Lock()
		p.instances, p.route, p.asleep = members, rp, time.Time{}
		p.mu.Unlock()
	}
	a.mu.Unlock()
	r.drainMu.Unlock()
	if !ok {
		for _, in := range members {
			in.stop()
		}
		return errors.New("the release was retired while it woke")
	}
	r.recordInstances(a.name, p)
	r.cfg.Recorder.Sleeping(a.name, p.version, time.Time{})
	took := time.Since(start)
	r.logger.Info("release woken", "app", a.name, "release", p.version.String(), "instances", len(members), "took", took.Round(time.Millisecond).String())
	r.appLog(a.name).Line("slipway", p.version.String(), []byte(fmt.Sprintf("slipway: %s woke for a session pinned to it (%s)", p.version, took.Round(time.Millisecond))))
	if r.cfg.OnWake != nil {
		r.cfg.OnWake(a.name, took)
	}
	return nil
}

// sleepy reports whether p, draining, should sleep at now: it has
// processes, none of its requests is in flight, and none came for
// DrainSleepAfter since it drains.
func (r *Releaser) sleepy(p *pool, now time.Time) bool {
	if r.cfg.DrainSleepAfter <= 0 || p.command == "" {
		return false
	}
	p.mu.Lock()
	asleep, rp := !p.asleep.IsZero(), p.route
	p.mu.Unlock()
	if asleep || rp.Sleeping() || rp.InFlight() != 0 {
		return false
	}
	last := rp.LastSeen()
	if d := rp.DrainingSince(); d.After(last) {
		last = d
	}
	return now.Sub(last) >= r.cfg.DrainSleepAfter
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
