package releaser

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/slipway/slipway"
)

// Restart replaces the live pool's instances one at a time: a new process
// for web.N starts and passes its health check, the router switches web.N
// to it (sessions pinned to web.N follow), and the old process is stopped
// once its requests in flight have finished. No request is lost and the
// pool never has fewer healthy instances than before. Callers hold the
// app's lock.
func (r *Releaser) Restart(ctx context.Context, name string, out io.Writer) error {
	a, p, err := r.livePool(name, "restart", true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeployTimeout)
	defer cancel()
	for i, old := range p.members() {
		started, err := r.startInstances(ctx, p, i+1, i+1, out)
		if err != nil {
			return err
		}
		members := p.members()
		members[i] = started[0]
		a.mu.Lock()
		if a.live == p {
			r.cfg.Router.SetLive(p.setMembers(members))
		}
		a.mu.Unlock()
		waitIdle(ctx, old, r.cfg.StopGrace)
		old.stop()
		fmt.Fprintf(out, "       %s restarted\n", old.id)
	}
	r.recordInstances(name, p)
	r.logger.Info("restarted", "app", name, "release", p.version.String())
	fmt.Fprintf(out, "Restarted %s (%s)\n", name, p.version)
	return nil
}

// waitIdle waits until the router has no request in flight on s, up to
// grace.
func waitIdle(ctx context.Context, s *instance, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for s.route.Outstanding() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond) // polled: the hot path stays free of notifications
	}
}

// livePool returns app and its live pool, or a user error saying why there
// is nothing to act on (verb: "scale", "restart"); web says the action
// needs web processes, which a static site has not.
func (r *Releaser) livePool(name, verb string, web bool) (*app, *pool, error) {
	a := r.app(name)
	a.mu.Lock()
	p := a.live
	a.mu.Unlock()
	if p == nil {
		return nil, nil, slipway.Errorf(slipway.EINVALID, "%s has no live release to %s: push one first", name, verb)
	}
	if web && p.spec.StaticDir != "" {
		return nil, nil, slipway.Errorf(slipway.EINVALID, "%s is a static site served by slipway itself: nothing to %s", name, verb)
	}
	if web {
		// An idle app that sleeps (ps:autosleep) wakes first, as for a
		// request: what is scaled or restarted is what runs.
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.DeployTimeout)
		defer cancel()
		if err := r.cfg.Router.Wake(ctx, p.routePool()); err != nil {
			return nil, nil, slipway.Errorf(slipway.EINVALID, "%s sleeps and did not wake to %s: %v", name, verb, err)
		}
	}
	return a, p, nil
}
