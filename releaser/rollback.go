package releaser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/slipway/slipway"
)

// Rollback makes a new release that reuses an earlier release's immutable
// directory and config, and switches to it like a push, without a build.
// to = 0 means the newest release before the live one that was live. When
// the target's pool is still draining, its warm instances are health
// checked and re-promoted at once; otherwise a fresh pool starts from the
// kept directory. by names who asked, for the history. Callers hold the
// app's deploy lock.
func (r *Releaser) Rollback(ctx context.Context, name string, to slipway.Version, by slipway.Release, out io.Writer) (*slipway.Release, error) {
	a, err := r.existing(name)
	if err != nil {
		return nil, err
	}
	target, err := r.rollbackTarget(ctx, name, to)
	if err != nil {
		return nil, err
	}
	var spec Spec
	if err := json.Unmarshal(target.Spec, &spec); err != nil || spec.Dir == "" {
		return nil, slipway.Errorf(slipway.EINVALID, "%s %s has no runnable build recorded: push again instead", name, target.Version)
	}
	if _, err := os.Stat(spec.Dir); err != nil {
		return nil, slipway.Errorf(slipway.EINVALID, "%s %s was pruned: its release directory is gone", name, target.Version)
	}
	spec.Env = target.Config
	if _, err := r.cfg.Store.SetAppConfig(ctx, name, target.Config, configKeysNotIn(ctx, r.cfg.Store, name, target.Config)); err != nil {
		return nil, err
	}
	rel := &slipway.Release{
		App: name, Kind: slipway.KindRollback, Status: slipway.StatusBuilding,
		Commit: target.Commit, Subject: fmt.Sprintf("Rollback to %s", target.Version), Author: target.Author,
		PusherFingerprint: by.PusherFingerprint, PusherComment: by.PusherComment,
		RollbackOf: target.Version, Config: target.Config, Dir: spec.Dir,
	}
	if err := r.cfg.Store.CreateRelease(ctx, rel); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "-----> Rolling back %s to %s as %s\n", name, target.Version, rel.Version)
	start := time.Now()
	if r.promoteDraining(ctx, a, target.Version, rel.Version, out) {
		fmt.Fprintf(out, "-----> %s is live: %s's instances were still running (%s)\n", rel.Version, target.Version, time.Since(start).Round(time.Millisecond))
		return r.cfg.Store.FindRelease(ctx, name, rel.Version)
	}
	spec.Version = rel.Version
	if err := r.Release(ctx, spec, out); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "-----> %s is live (%s)\n", rel.Version, time.Since(start).Round(time.Millisecond))
	return r.cfg.Store.FindRelease(ctx, name, rel.Version)
}

// rollbackTarget finds the release to roll back to and refuses one that
// cannot be: the live one, a failed one, or a pruned one.
func (r *Releaser) rollbackTarget(ctx context.Context, name string, to slipway.Version) (*slipway.Release, error) {
	rels, err := r.cfg.Store.ListReleases(ctx, name)
	if err != nil {
		return nil, err
	}
	live := -1
	for i, rel := range rels {
		if rel.Status == slipway.StatusLive {
			live = i
			break
		}
	}
	if to == 0 {
		for i := live + 1; i < len(rels) && live >= 0; i++ {
			if rels[i].Status != slipway.StatusFailed && !rels[i].StartedAt.IsZero() {
				return rels[i], nil
			}
		}
		return nil, slipway.Errorf(slipway.EINVALID, "%s has no earlier release that was live to roll back to", name)
	}
	for _, rel := range rels {
		if rel.Version != to {
			continue
		}
		switch {
		case rel.Status == slipway.StatusLive:
			return nil, slipway.Errorf(slipway.ECONFLICT, "%s %s is already live", name, to)
		case rel.Status == slipway.StatusFailed:
			return nil, slipway.Errorf(slipway.EINVALID, "%s %s failed: roll back to a release that went live", name, to)
		case rel.Status == slipway.StatusBuilding:
			return nil, slipway.Errorf(slipway.ECONFLICT, "%s %s is still being deployed", name, to)
		case rel.Pruned:
			return nil, slipway.Errorf(slipway.EINVALID, "%s %s was pruned: its release directory is gone", name, to)
		}
		return rel, nil
	}
	return nil, slipway.Errorf(slipway.ENOTFOUND, "%s has no release %s", name, to)
}

// promoteDraining makes the draining pool that serves release target live
// again as release v, after a quick check that its instances still
// answer. It reports false when there is no such warm pool.
func (r *Releaser) promoteDraining(ctx context.Context, a *app, target, v slipway.Version, out io.Writer) bool {
	a.mu.Lock()
	var p *pool
	for _, d := range a.draining {
		if d.version == target {
			p = d
		}
	}
	a.mu.Unlock()
	if p == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, s := range p.members() {
		if err := waitListening(ctx, probeTarget(s)); err != nil || !s.route.Healthy() {
			fmt.Fprintf(out, "       %s of %s does not answer: starting a fresh pool\n", s.id, target)
			return false
		}
	}
	a.mu.Lock()
	i := -1
	for j, d := range a.draining {
		if d == p {
			i = j
		}
	}
	if i < 0 { // retired meanwhile
		a.mu.Unlock()
		return false
	}
	a.draining = append(a.draining[:i:i], a.draining[i+1:]...)
	// The pool now serves as release v: the target's own record ends here,
	// or the history would show it draining for ever.
	r.update(a.name, target, func(rel *slipway.Release) {
		rel.Status, rel.FinishedAt = slipway.StatusRetired, time.Now()
	})
	r.cfg.Store.SetInstances(context.Background(), a.name, target, nil)
	p.version = v
	spec := p.spec
	spec.Version = v
	st := a.state
	st.Live = &spec
	if err := r.saveState(a.name, st); err == nil {
		a.state = st
	}
	r.switchTo(a, p)
	a.mu.Unlock()
	r.swapWorkers(a, spec, v, out)
	return true
}

// configKeysNotIn lists the app's config keys that cfg lacks, so that a
// rollback can make the app's config exactly the target's.
func configKeysNotIn(ctx context.Context, s Store, app string, cfg map[string]string) []string {
	cur, err := s.AppConfig(ctx, app)
	if err != nil {
		return nil
	}
	var out []string
	for k := range cur {
		if _, ok := cfg[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}
