package apps

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
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
func (s *Service) Rollback(ctx context.Context, app string, to slipway.Version, out io.Writer) (_ *slipway.Release, err error) {
	by := slipway.CallerName(ctx, slipway.HostCaller)
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
	// The app's config becomes the target's, with what config:set
	// --no-restart stored and the live release does not run yet kept on
	// top: still pending, for the next release.
	stored, pending := withPending(target.Config, current, s.liveConfig(ctx, app))
	var unset []string
	for k := range current {
		if _, ok := stored[k]; !ok {
			unset = append(unset, k)
		}
	}
	set := maps.Clone(stored)
	maps.DeleteFunc(set, func(k, v string) bool { old, ok := current[k]; return ok && old == v })
	// As a config release's: the change goes live with the rollback or
	// is undone, even across a crash (configchange.go).
	change := newConfigChange(current, set, unset)
	if err := s.recordChange(ctx, app, change); err != nil {
		return nil, err
	}
	if _, err := s.store.SetAppConfig(ctx, app, set, unset); err != nil {
		s.undoChange(app, change, "the rollback could not store it", out)
		return nil, err
	}
	rel := &slipway.Release{
		App: app, Kind: slipway.KindRollback, Status: slipway.StatusBuilding,
		Commit: target.Commit, Subject: fmt.Sprintf("Rollback to %s", target.Version), Author: target.Author,
		PusherComment: by, RollbackOf: target.Version, Config: target.Config, Dir: spec.Dir,
	}
	out, closeLog, err := s.create(rel, out)
	if err != nil {
		s.undoChange(app, change, "the rollback's release could not be made", out)
		return nil, err
	}
	defer closeLog()
	defer s.notifyReleaseDone(slipway.WebhookRollback, app, rel.Version, by, &err)
	fmt.Fprintf(out, "-----> Rolling back %s to %s as %s\n", app, target.Version, rel.Version)
	start := time.Now()
	warm, err := s.rel.Promote(ctx, app, target.Version, rel.Version, out)
	if err != nil {
		s.fail(app, rel.Version, err)
		s.undoChange(app, change, rel.Version.String()+" did not go live", out)
		return nil, err
	}
	notePending := func() {
		if len(pending) > 0 {
			fmt.Fprintf(out, "-----> Pending config stays pending (config:set --no-restart): %s; it goes live with the next release\n", strings.Join(pending, ", "))
		}
	}
	if warm {
		s.settleChange(app)
		fmt.Fprintf(out, "-----> %s is live: %s's instances were still running (%s)\n", rel.Version, target.Version, time.Since(start).Round(time.Millisecond))
		notePending()
		s.refreshMaintenance(ctx, app)
		return s.store.FindRelease(ctx, app, rel.Version)
	}
	spec.Version = rel.Version
	if err := s.release(ctx, spec, false, out); err != nil {
		s.undoChange(app, change, rel.Version.String()+" did not go live", out)
		return nil, err
	}
	s.settleChange(app)
	fmt.Fprintf(out, "-----> %s is live (%s)\n", rel.Version, time.Since(start).Round(time.Millisecond))
	notePending()
	s.refreshMaintenance(ctx, app)
	if s.stopped(ctx, app) { // a rollback runs a stopped app again
		s.setStopped(ctx, app, false)
	}
	return s.store.FindRelease(ctx, app, rel.Version)
}

// liveConfig returns the config the app's live release runs with, nil
// when none is live.
func (s *Service) liveConfig(ctx context.Context, app string) map[string]string {
	rels, _ := s.store.ListReleases(ctx, app)
	if live := liveRelease(rels); live != nil {
		return live.Config
	}
	return nil
}

// withPending returns target's config with the pending changes of stored
// (what differs from running, the live release's config) on top, and
// the keys of those changes, sorted.
func withPending(target, stored, running map[string]string) (map[string]string, []string) {
	out := maps.Clone(target)
	if out == nil {
		out = map[string]string{}
	}
	var pending []string
	if running == nil {
		return out, nil
	}
	for k, v := range stored {
		if old, ok := running[k]; !ok || old != v {
			out[k] = v
			pending = append(pending, k)
		}
	}
	for k := range running {
		if _, ok := stored[k]; !ok {
			delete(out, k)
			pending = append(pending, k)
		}
	}
	slices.Sort(pending)
	return out, pending
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
