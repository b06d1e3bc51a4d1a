package apps

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/slipway/slipway"
)

// Rollback makes a new release that reuses an earlier release's immutable
// directory and config, and switches to it like a push, without a build
// or a release phase. to = 0 means the newest release before the live one
// that was live. When the target's pool is still draining, its warm
// instances are health checked and re-promoted at once; otherwise a fresh
// pool starts from the kept directory. by names who asked, for the
// history.
func (s *Service) Rollback(ctx context.Context, app string, to slipway.Version, by string, out io.Writer) (*slipway.Release, error) {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	target, err := s.rollbackTarget(ctx, app, to)
	if err != nil {
		return nil, err
	}
	spec, ok := specOf(target)
	if !ok {
		return nil, slipway.Errorf(slipway.EINVALID, "%s %s has no runnable build recorded: push again instead", app, target.Version)
	}
	if _, err := os.Stat(spec.Dir); err != nil {
		return nil, slipway.Errorf(slipway.EINVALID, "%s %s was pruned: its release directory is gone", app, target.Version)
	}
	current, err := s.store.AppConfig(ctx, app)
	if err != nil {
		return nil, err
	}
	var unset []string // the app's config becomes exactly the target's
	for k := range current {
		if _, ok := target.Config[k]; !ok {
			unset = append(unset, k)
		}
	}
	if _, err := s.store.SetAppConfig(ctx, app, target.Config, unset); err != nil {
		return nil, err
	}
	rel := &slipway.Release{
		App: app, Kind: slipway.KindRollback, Status: slipway.StatusBuilding,
		Commit: target.Commit, Subject: fmt.Sprintf("Rollback to %s", target.Version), Author: target.Author,
		PusherComment: by, RollbackOf: target.Version, Config: target.Config, Dir: spec.Dir,
	}
	out, closeLog, err := s.create(rel, out)
	if err != nil {
		return nil, err
	}
	defer closeLog()
	fmt.Fprintf(out, "-----> Rolling back %s to %s as %s\n", app, target.Version, rel.Version)
	start := time.Now()
	warm, err := s.rel.Promote(ctx, app, target.Version, rel.Version, out)
	if err != nil {
		s.fail(app, rel.Version, err)
		return nil, err
	}
	if warm {
		fmt.Fprintf(out, "-----> %s is live: %s's instances were still running (%s)\n", rel.Version, target.Version, time.Since(start).Round(time.Millisecond))
		s.refreshMaintenance(ctx, app)
		return s.store.FindRelease(ctx, app, rel.Version)
	}
	spec.Version = rel.Version
	if err := s.release(ctx, spec, false, out); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "-----> %s is live (%s)\n", rel.Version, time.Since(start).Round(time.Millisecond))
	s.refreshMaintenance(ctx, app)
	if s.stopped(ctx, app) { // a rollback runs a stopped app again
		s.setStopped(ctx, app, false)
	}
	return s.store.FindRelease(ctx, app, rel.Version)
}

// rollbackTarget finds the release to roll back to and refuses one that
// cannot be: the live one, a failed one, or a pruned one.
func (s *Service) rollbackTarget(ctx context.Context, app string, to slipway.Version) (*slipway.Release, error) {
	rels, err := s.store.ListReleases(ctx, app)
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
		return nil, slipway.Errorf(slipway.EINVALID, "%s has no earlier release that was live to roll back to", app)
	}
	for _, rel := range rels {
		if rel.Version != to {
			continue
		}
		switch {
		case rel.Status == slipway.StatusLive:
			return nil, slipway.Errorf(slipway.ECONFLICT, "%s %s is already live", app, to)
		case rel.Status == slipway.StatusFailed:
			return nil, slipway.Errorf(slipway.EINVALID, "%s %s failed: roll back to a release that went live", app, to)
		case rel.Status == slipway.StatusBuilding:
			return nil, slipway.Errorf(slipway.ECONFLICT, "%s %s is still being deployed", app, to)
		case rel.Pruned:
			return nil, slipway.Errorf(slipway.EINVALID, "%s %s was pruned: its release directory is gone", app, to)
		}
		return rel, nil
	}
	return nil, slipway.Errorf(slipway.ENOTFOUND, "%s has no release %s", app, to)
}
