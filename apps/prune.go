package apps

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
func (s *Service) Prune(ctx context.Context, keep int, remove func(dir string) error) error {
	names, err := s.store.ListApps(ctx)
	if err != nil {
		return err
	}
	for _, app := range names {
		if err := s.pruneApp(ctx, app, keep, remove); err != nil {
			s.logger.Error("prune", "app", app, "err", err)
		}
	}
	s.collectImages(ctx) // the pruned releases' images, and destroyed apps'
	return nil
}

func (s *Service) pruneApp(ctx context.Context, app string, keep int, remove func(string) error) error {
	unlock, err := s.acquire(ctx, app, io.Discard) // no deploy or rollback reads a directory meanwhile
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return nil // destroyed meanwhile
	}
	if err != nil {
		return err
	}
	defer unlock()
	rels, err := s.store.ListReleases(ctx, app)
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
			s.logger.Info("release directory pruned", "app", app, "release", rel.Version.String())
		}
		if _, err := s.store.UpdateRelease(ctx, app, rel.Version, slipway.ReleaseUpdate{Pruned: slipway.Set(true)}); err != nil {
			return err
		}
		s.untag(ctx, app, rel.Version)
	}
	return nil
}
