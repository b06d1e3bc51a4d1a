package apps

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/slipway/slipway"
)

// interrupted is the failure of a deploy that slipway's stop cut off.
const interrupted = "interrupted: slipway stopped during the deploy"

// Restore makes the history tell the truth after a restart, then starts
// the live release of every app again: pools that were draining stopped
// with slipway (retired), deploys in progress were cut off (failed). An
// app whose release fails to start is logged and left without a live
// pool; its history still names the release that should run.
func (s *Service) Restore(ctx context.Context) {
	names, err := s.store.ListApps(ctx)
	if err != nil {
		s.logger.Error("read history", "err", err)
		return
	}
	for _, app := range names {
		if ctx.Err() != nil {
			return
		}
		if err := s.restore(ctx, app); err != nil {
			s.logger.Error("restore app", "app", app, "err", err)
		}
	}
}

func (s *Service) restore(ctx context.Context, app string) error {
	unlock, err := s.lock(ctx, app, io.Discard)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.importLegacyState(ctx, app); err != nil {
		s.logger.Error("carry over state.json", "app", app, "err", err)
	}
	rels, err := s.store.ListReleases(ctx, app)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, rel := range rels {
		switch rel.Status {
		case slipway.StatusDraining:
			s.update(app, rel.Version, slipway.Retired(now))
		case slipway.StatusBuilding:
			s.update(app, rel.Version, slipway.Failed(now, interrupted))
		default:
			continue
		}
		history{s}.Instances(app, rel.Version, nil)
	}
	live := liveRelease(rels)
	if live == nil {
		return nil
	}
	spec, ok := specOf(live)
	if !ok {
		return errors.New("the live release " + live.Version.String() + " has no runnable build recorded")
	}
	if _, err := os.Stat(spec.Dir); err != nil {
		s.logger.Error("restore app: release directory is gone", "app", app, "release", live.Version.String())
		return nil
	}
	scale, err := s.store.AppScale(ctx, app)
	if err != nil {
		return err
	}
	spec.Scale = scale
	return s.rel.Release(ctx, spec, io.Discard)
}

// importLegacyState carries the instance counts of a data dir written
// before the history kept them (apps/NAME/state.json) into the history,
// and removes the file, which also held the config vars.
func (s *Service) importLegacyState(ctx context.Context, app string) error {
	path := s.layout.LegacyState(app)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st struct {
		Scale map[string]int `json:"scale"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	if len(st.Scale) > 0 {
		if err := s.store.SetAppScale(ctx, app, st.Scale); err != nil {
			return err
		}
	}
	return os.Remove(path)
}
