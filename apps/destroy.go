package apps

import (
	"context"
	"io"
	"os"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
)

// Destroy stops every process of app and removes it from the router, the
// history and the disk: its data directory (release directories are
// read-only: builder.Remove) and its repository. It holds the app's lock
// throughout, so a use case waiting for it then finds no app (acquire).
func (s *Service) Destroy(ctx context.Context, app string, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	return s.destroy(ctx, app)
}

// DiscardNewApp removes app when the push that made its repository ended
// without a release going live (gitserver.Discarder): a rejected first push
// leaves no app, repository or history behind. An app that has a live
// release by then (another push made it), or was made with apps:create,
// stays.
func (s *Service) DiscardNewApp(ctx context.Context, app string) error {
	unlock, err := s.lock(ctx, app, io.Discard)
	if err != nil {
		return err
	}
	defer unlock()
	rels, err := s.store.ListReleases(ctx, app)
	if err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		return err
	}
	if liveRelease(rels) != nil {
		return nil
	}
	if made, _ := s.store.AppSetting(ctx, app, slipway.SettingCreated); made != "" {
		return nil // made with apps:create: it stays, waiting for a push that works
	}
	return s.destroy(ctx, app)
}

// destroy is Destroy under the app's lock.
func (s *Service) destroy(ctx context.Context, app string) error {
	// The router forgets the app's own answers first: once its pools go
	// too, it knows no such app, and an access line still queued is not
	// written into a log (and directory) made again after they went.
	if s.cfg.Pages != nil {
		s.cfg.Pages.SetMaintenance(app, false, nil)
		s.cfg.Pages.SetStopped(app, false) // a stopped app destroyed is no app: 404, no log
	}
	s.setUndeployed(app, false)
	s.rel.Forget(app)
	if d, ok := s.rel.(destroyer); ok {
		d.Destroyed(app)
	}
	if s.cfg.Hosts != nil {
		s.cfg.Hosts.SetDomains(app, nil)
	}
	s.setRedirect(app, true) // a new app of the name starts with the default
	s.setDrains(app, nil)
	s.routeAccessLog(app, true) // a new app of the name starts with the default
	if s.cfg.Identities != nil {
		s.cfg.Identities.Forget(app)
	}
	s.mu.Lock()
	delete(s.pending, app) // a new app of the name starts with a new repository
	s.mu.Unlock()
	if err := s.store.DeleteApp(ctx, app); err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		return err
	}
	if s.cfg.Identities != nil {
		if err := s.cfg.Identities.RemoveDisk(app); err != nil {
			return err
		}
	}
	if err := builder.Remove(s.layout.AppDir(app)); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.RemoveAll(s.layout.Repo(app)); err != nil {
		return err
	}
	s.untagAll(ctx, app) // the next prune's collection frees them
	s.logger.Info("app destroyed", "app", app)
	return nil
}
