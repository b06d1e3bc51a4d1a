package apps

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/slipway/slipway"
)

// stopped reports whether app is stopped (ps:stop).
func (s *Service) stopped(ctx context.Context, app string) bool {
	v, _ := s.store.AppSetting(ctx, app, slipway.SettingStopped)
	return v == "on"
}

// setStopped records app as stopped or not, for the history and the
// router.
func (s *Service) setStopped(ctx context.Context, app string, stopped bool) error {
	value := ""
	if stopped {
		value = "on"
	}
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingStopped, value); err != nil {
		return err
	}
	if s.cfg.Pages != nil {
		s.cfg.Pages.SetStopped(app, stopped)
	}
	return nil
}

// Stop stops every process of the app (ps:stop): its live and draining
// pools, workers and cron jobs. The router answers with a short page
// that says the app is stopped. It stays stopped across restarts, until
// ps:start or a push.
func (s *Service) Stop(ctx context.Context, app string, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.stop(ctx, app, out); err != nil {
		return err
	}
	s.event(ctx, app, slipway.EventStop, "")
	return nil
}

// stop is Stop under the app's lock.
func (s *Service) stop(ctx context.Context, app string, out io.Writer) error {
	if err := s.setStopped(ctx, app, true); err != nil {
		return err
	}
	s.endProcesses(ctx, app)
	fmt.Fprintf(out, "Stopped %s: every process ended; ps:start %s runs the live release again\n", app, app)
	s.logger.Info("app stopped", "app", app)
	return nil
}

// endProcesses stops every process of app and records it: the draining
// releases retired, no instance running. The live release stays live.
func (s *Service) endProcesses(ctx context.Context, app string) {
	s.rel.Forget(app)
	rels, _ := s.store.ListReleases(ctx, app)
	now := time.Now()
	for _, rel := range rels {
		switch rel.Status {
		case slipway.StatusDraining:
			s.update(app, rel.Version, slipway.Retired(now))
		case slipway.StatusLive:
		default:
			continue
		}
		history{s}.Instances(app, rel.Version, nil)
	}
}

// StartStopped runs the live release of a stopped app again (ps:start).
func (s *Service) StartStopped(ctx context.Context, app string, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if !s.stopped(ctx, app) {
		return slipway.Errorf(slipway.EINVALID, "%s is not stopped (ps %s shows what runs)", app, app)
	}
	rels, err := s.store.ListReleases(ctx, app)
	if err != nil {
		return err
	}
	live := liveRelease(rels)
	if live == nil {
		if err := s.setStopped(ctx, app, false); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s has no live release yet: a push starts it\n", app)
		return nil
	}
	if err := s.startLive(ctx, live, out); err != nil {
		return err
	}
	if err := s.setStopped(ctx, app, false); err != nil {
		return err
	}
	fmt.Fprintf(out, "Started %s: %s is live\n", app, live.Version)
	s.event(ctx, app, slipway.EventStart, live.Version.String())
	return nil
}
