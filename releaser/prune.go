package releaser

import (
	"context"
	"io"

	"github.com/slipway/slipway"
)

// DefaultKeepReleases is how many release directories Prune keeps per app.
const DefaultKeepReleases = 5

// Prune removes release directories beyond the newest keep of each app,
// with remove (builder.Remove: release directories are read-only). It never
// removes the directory of a live, draining or building release, nor that of
// the newest release that was ever live, and a rollback release shares its
// target's directory. History rows stay; their releases show as pruned.
func (r *Releaser) Prune(ctx context.Context, keep int, remove func(dir string) error) error {
	apps, err := r.cfg.Store.ListApps(ctx)
	if err != nil {
		return err
	}
	for _, name := range apps {
		if err := r.pruneApp(ctx, name, keep, remove); err != nil {
			r.logger.Error("prune", "app", name, "err", err)
		}
	}
	return nil
}

func (r *Releaser) pruneApp(ctx context.Context, name string, keep int, remove func(string) error) error {
	unlock, err := r.Lock(ctx, name, io.Discard) // no deploy or rollback reads a directory meanwhile
	if err != nil {
		return err
	}
	defer unlock()
	rels, err := r.cfg.Store.ListReleases(ctx, name)
	if err != nil {
		return err
	}
	protected := map[string]bool{} // directories to keep; kept counts them
	kept, sawLive := 0, false
	for _, rel := range rels { // newest first
		if rel.Dir == "" || rel.Pruned {
			continue
		}
		wasLive := !rel.StartedAt.IsZero()
		keepIt := rel.Status == slipway.StatusLive || rel.Status == slipway.StatusDraining ||
			rel.Status == slipway.StatusBuilding || (wasLive && !sawLive) ||
			(kept < keep && rel.Status != slipway.StatusFailed)
		sawLive = sawLive || wasLive
		if keepIt && !protected[rel.Dir] {
			protected[rel.Dir] = true
			kept++
		}
	}
	removed := map[string]bool{}
	for _, rel := range rels {
		if rel.Dir == "" || rel.Pruned || protected[rel.Dir] {
			continue
		}
		if !removed[rel.Dir] {
			if err := remove(rel.Dir); err != nil {
				return err
			}
			removed[rel.Dir] = true
			r.logger.Info("release directory pruned", "app", name, "release", rel.Version.String())
		}
		rel.Pruned = true
		if err := r.cfg.Store.UpdateRelease(ctx, rel); err != nil {
			return err
		}
	}
	return nil
}
