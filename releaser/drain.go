package releaser

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway/slipway"
)

// drainTick is how often the drain loop looks at draining pools: often
// enough that a pool is retired close to its session TTL, and never busier
// than every 20ms.
func (r *Releaser) drainTick() time.Duration {
	return max(min(r.cfg.SessionTTL/4, time.Second), 20*time.Millisecond)
}

// drainLoop retires draining pools until ctx is done.
func (r *Releaser) drainLoop(ctx context.Context) {
	defer close(r.loopDone)
	t := time.NewTicker(r.drainTick())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.retireIdle(now)
		}
	}
}

// retireIdle retires every draining pool that no session can come back
// to and that has no request in flight (an open websocket counts), every
// pool that has drained for DrainTimeout, and the oldest beyond
// MaxDraining of an app. The router issues a pool's cookies only on
// requests to it, and they expire SessionTTL after issue, so SessionTTL
// after its last request (LastSeen) no client holds a way back to it: a
// pool that saw no request for SessionTTL before it stopped being live
// (an idle app) is retired at once.
func (r *Releaser) retireIdle(now time.Time) {
	r.drainMu.Lock() // Detach waits for a pass in progress
	defer r.drainMu.Unlock()
	if r.detached.Load() {
		return // the next slipway decides
	}
	r.mu.Lock()
	apps := make([]*app, 0, len(r.apps))
	for _, a := range r.apps {
		apps = append(apps, a)
	}
	r.mu.Unlock()
	for _, a := range apps {
		a.mu.Lock()
		var keep []*pool
		for _, p := range a.draining {
			rp := p.routePool()
			switch {
			case now.Sub(rp.DrainingSince()) >= r.cfg.DrainTimeout:
				r.retire(p, "drain timeout")
			case now.Sub(rp.LastSeen()) >= r.cfg.SessionTTL && rp.InFlight() == 0:
				r.retire(p, "sessions idle")
			default:
				keep = append(keep, p)
				if r.sleepy(p, now, r.cfg.DrainSleepAfter) {
					r.sleep(a, p)
				}
			}
		}
		for len(keep) > r.cfg.MaxDraining { // oldest first
			r.retire(keep[0], fmt.Sprintf("more than %d draining releases (--max-draining): its sessions move to the live release", r.cfg.MaxDraining))
			keep = keep[1:]
		}
		a.draining = keep
		if a.live != nil && r.sleepy(a.live, now, a.autosleep) { // an idle app (ps:autosleep)
			r.sleep(a, a.live)
		}
		a.mu.Unlock()
	}
}

// retire takes p out of the router, so its sessions move to the live
// pool, and stops its processes in the background once the requests in
// flight on it have finished or the stop grace has passed.
func (r *Releaser) retire(p *pool, reason string) {
	rp := p.routePool()
	r.cfg.Router.Retire(rp)
	r.logger.Info("release retiring", "app", p.spec.App, "release", p.version.String(), "reason", reason)
	r.retiring.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.StopGrace)
		r.cfg.Router.WaitIdle(ctx, rp)
		cancel()
		r.stopPool(p)
		r.cfg.Recorder.Retired(p.spec.App, p.version)
		r.recordInstances(p.spec.App, p)
		r.logger.Info("release retired", "app", p.spec.App, "release", p.version.String())
	})
}

// RetireNow retires app's draining pool of release v at once, whatever
// its sessions do: they move to the live release (releases:retire, for an
// operator who needs the memory back). Callers hold the app's lock.
func (r *Releaser) RetireNow(app string, v slipway.Version) error {
	a := r.app(app)
	r.drainMu.Lock()
	defer r.drainMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, p := range a.draining {
		if p.version == v {
			a.draining = append(a.draining[:i:i], a.draining[i+1:]...)
			r.retire(p, "retired by hand")
			return nil
		}
	}
	return slipway.Errorf(slipway.EINVALID, "%s of %s is not draining (ps %s shows the draining releases)", v, app, app)
}

// DrainStatus is one draining pool (slipway.DrainStatus).
type DrainStatus = slipway.DrainStatus

// Draining returns app's draining pools, newest first.
func (r *Releaser) Draining(name string) []DrainStatus {
	a := r.app(name)
	a.mu.Lock()
	pools := append([]*pool(nil), a.draining...)
	a.mu.Unlock()
	var out []DrainStatus
	for i := len(pools) - 1; i >= 0; i-- {
		rp := pools[i].routePool()
		since, seen := rp.DrainingSince(), rp.LastSeen()
		out = append(out, DrainStatus{Release: pools[i].version, Since: since, LastSeen: seen, SleepingSince: pools[i].sleepingSince(),
			IdleRetire: seen.Add(r.cfg.SessionTTL), RetireBy: since.Add(r.cfg.DrainTimeout), Sessions: rp.Sessions()})
	}
	return out
}
