package apps

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/slipway/slipway"
)

// Config returns the app's config vars.
func (s *Service) Config(ctx context.Context, app string) (map[string]string, error) {
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	return s.store.AppConfig(ctx, app)
}

// SetConfig sets and unsets config vars of app. Unless noRestart, it then
// makes a config release: the live release's build with the new config,
// started, health checked and switched to like a push, the old pool
// draining. With noRestart the change waits for the next release. by names
// who asked, for the history.
func (s *Service) SetConfig(ctx context.Context, app string, set map[string]string, unset []string, noRestart bool, out io.Writer) (_ *slipway.Release, err error) {
	by := slipway.CallerName(ctx, slipway.HostCaller)
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Only what changes makes a release: unsetting a key that is not set,
	// or setting one to the value it has, is said and left.
	current, err := s.store.AppConfig(ctx, app)
	if err != nil {
		return nil, err
	}
	var missing []string
	unset = slices.DeleteFunc(slices.Clone(unset), func(k string) bool {
		_, ok := current[k]
		if !ok {
			missing = append(missing, k)
		}
		return !ok
	})
	set = maps.Clone(set)
	maps.DeleteFunc(set, func(k, v string) bool { old, ok := current[k]; return ok && old == v })
	if len(missing) > 0 {
		fmt.Fprintf(out, "%s is not set on %s\n", strings.Join(missing, ", "), app)
	}
	if len(set) == 0 && len(unset) == 0 {
		fmt.Fprintf(out, "No change to the config of %s: no release made\n", app)
		return nil, nil
	}
	change := newConfigChange(current, set, unset)
	if !noRestart {
		// Recorded before the config is stored: see configchange.go.
		if err := s.recordChange(ctx, app, change); err != nil {
			return nil, err
		}
	}
	cfg, err := s.store.SetAppConfig(ctx, app, set, unset)
	if err != nil {
		s.settleChange(app)
		return nil, err
	}
	if noRestart {
		fmt.Fprintf(out, "Config of %s stored: it takes effect with the next release\n", app)
		s.event(ctx, app, slipway.EventConfig, configSubject(set, unset)+" (pending: takes effect with the next release)")
		s.notifyPendingConfig(ctx, app, set, unset)
		return nil, nil
	}
	if s.stopped(ctx, app) {
		s.settleChange(app)
		fmt.Fprintf(out, "Config of %s stored: the app is stopped, ps:start %s runs it with this config\n", app, app)
		s.event(ctx, app, slipway.EventConfig, configSubject(set, unset)+" (pending: the app is stopped)")
		s.notifyPendingConfig(ctx, app, set, unset)
		return nil, nil
	}
	rels, err := s.store.ListReleases(ctx, app)
	if err != nil {
		return nil, err
	}
	live := liveRelease(rels)
	if live == nil {
		s.settleChange(app)
		return nil, slipway.Errorf(slipway.EINVALID, "%s has no live release: the config takes effect with the next push", app)
	}
	spec, ok := specOf(live)
	if !ok {
		s.settleChange(app)
		return nil, slipway.Errorf(slipway.EINVALID, "%s has no live release to apply the config to: it takes effect with the next push", app)
	}
	rel := &slipway.Release{
		App: app, Kind: slipway.KindConfig, Status: slipway.StatusBuilding,
		Commit: live.Commit, Subject: configSubject(set, unset), Author: live.Author,
		PusherComment: by, Config: cfg, Dir: spec.Dir,
	}
	out, closeLog, err := s.create(rel, out)
	if err != nil {
		s.undoChange(app, change, "its release could not be made", out)
		return nil, err
	}
	defer closeLog()
	defer s.notifyReleaseDone(slipway.WebhookConfig, app, rel.Version, by, &err)
	fmt.Fprintf(out, "-----> %s: %s as %s\n", app, rel.Subject, rel.Version)
	spec.Version, spec.Env = rel.Version, cfg
	if err := s.release(ctx, spec, true, out); err != nil {
		s.undoChange(app, change, rel.Version.String()+" did not go live", out)
		return nil, err
	}
	s.settleChange(app)
	fmt.Fprintf(out, "-----> %s is live\n", rel.Version)
	return s.store.FindRelease(ctx, app, rel.Version)
}

// configSubject describes a config change for the history: "Set A, B; unset C".
func configSubject(set map[string]string, unset []string) string {
	var parts []string
	if len(set) > 0 {
		parts = append(parts, "Set "+strings.Join(slices.Sorted(maps.Keys(set)), ", "))
	}
	if len(unset) > 0 {
		word := "Unset "
		if len(parts) > 0 {
			word = "unset "
		}
		parts = append(parts, word+strings.Join(unset, ", "))
	}
	return strings.Join(parts, "; ")
}
