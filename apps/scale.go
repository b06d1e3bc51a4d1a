package apps

import (
	"context"
	"fmt"
	"io"

	"github.com/slipway/slipway"
)

// ScaleChange is one TYPE=N of ps:scale (slipway.ScaleChange).
type ScaleChange = slipway.ScaleChange

// Scale sets instance counts of the app's process types and applies them
// to the live release at once, without a new release. Every change is
// checked before any is applied, and the counts are kept for later
// releases.
func (s *Service) Scale(ctx context.Context, app string, changes []ScaleChange, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if len(changes) == 1 && changes[0].Type == "web" && changes[0].Count == 0 {
		// No web instance at all: the app stops, as with ps:stop.
		if err := s.stop(ctx, app, out); err != nil {
			return err
		}
		s.event(ctx, app, slipway.EventStop, "web=0")
		return nil
	}
	scale := map[string]int{}
	for _, c := range changes {
		if err := s.rel.CheckScale(app, c.Type, c.Count); err != nil {
			return err
		}
		scale[c.Type] = c.Count
	}
	if err := s.store.SetAppScale(ctx, app, scale); err != nil {
		return err
	}
	for _, c := range changes {
		if err := s.rel.Scale(ctx, app, c.Type, c.Count, out); err != nil {
			return err
		}
	}
	s.event(ctx, app, slipway.EventScale, scaleDetail(changes))
	return nil
}

// Restart replaces the live pool's instances one at a time, losing no
// request (see releaser.Restart).
func (s *Service) Restart(ctx context.Context, app string, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.rel.Restart(ctx, app, out); err != nil {
		return err
	}
	s.event(ctx, app, slipway.EventRestart, "")
	return nil
}

// Create records an app with no release yet; ECONFLICT if it exists.
func (s *Service) Create(ctx context.Context, app string) error {
	if err := slipway.ValidateAppName(app); err != nil {
		return err
	}
	if err := s.store.CreateApp(ctx, app); err != nil {
		return err
	}
	if err := s.prepareDir(app); err != nil {
		if derr := s.store.DeleteApp(ctx, app); derr != nil {
			s.logger.Error("undo apps:create", "app", app, "err", derr)
		}
		return err
	}
	// Made on purpose: a first push that fails does not take it away.
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingCreated, "apps:create"); err != nil {
		return err
	}
	s.setUndeployed(app, true)
	s.event(ctx, app, slipway.EventCreate, "")
	return nil
}

// RetireRelease retires the app's draining release v now: its sessions
// move to the live release and its processes stop once their requests in
// flight are done.
func (s *Service) RetireRelease(ctx context.Context, app string, v slipway.Version, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.rel.RetireNow(app, v); err != nil {
		return err
	}
	fmt.Fprintf(out, "Retiring %s of %s: its sessions move to the live release\n", v, app)
	s.event(ctx, app, slipway.EventRetire, v.String())
	return nil
}
