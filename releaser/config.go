package releaser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/slipway/slipway"
)

// SetConfig sets and unsets config vars of app. Unless noRestart, it then
// makes a config release: the live release's build with the new config,
// started, health checked and switched to like a push, the old pool
// draining. With noRestart the change waits for the next release. Callers
// hold the app's deploy lock.
func (r *Releaser) SetConfig(ctx context.Context, name string, set map[string]string, unset []string, noRestart bool, by slipway.Release, out io.Writer) (*slipway.Release, error) {
	if _, err := r.existing(name); err != nil {
		return nil, err
	}
	cfg, err := r.cfg.Store.SetAppConfig(ctx, name, set, unset)
	if err != nil {
		return nil, err
	}
	if noRestart {
		fmt.Fprintf(out, "Config of %s stored: it takes effect with the next release\n", name)
		return nil, nil
	}
	live, err := r.liveRelease(ctx, name)
	if err != nil {
		return nil, err
	}
	var spec Spec
	if err := json.Unmarshal(live.Spec, &spec); err != nil || spec.Dir == "" {
		return nil, slipway.Errorf(slipway.EINVALID, "%s has no live release to apply the config to: it takes effect with the next push", name)
	}
	rel := &slipway.Release{
		App: name, Kind: slipway.KindConfig, Status: slipway.StatusBuilding,
		Commit: live.Commit, Subject: configSubject(set, unset), Author: live.Author,
		PusherFingerprint: by.PusherFingerprint, PusherComment: by.PusherComment,
		Config: cfg, Dir: spec.Dir,
	}
	if err := r.cfg.Store.CreateRelease(ctx, rel); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "-----> %s: %s as %s\n", name, rel.Subject, rel.Version)
	spec.Version, spec.Env = rel.Version, cfg
	if err := r.Deploy(ctx, spec, out); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "-----> %s is live\n", rel.Version)
	return r.cfg.Store.FindRelease(ctx, name, rel.Version)
}

// liveRelease returns the app's live release from the history.
func (r *Releaser) liveRelease(ctx context.Context, name string) (*slipway.Release, error) {
	rels, err := r.cfg.Store.ListReleases(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, rel := range rels {
		if rel.Status == slipway.StatusLive {
			return rel, nil
		}
	}
	return nil, slipway.Errorf(slipway.EINVALID, "%s has no live release: the config takes effect with the next push", name)
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
