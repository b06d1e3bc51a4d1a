package apps

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// interrupted is the failure of a deploy that slipway's stop cut off.
const interrupted = "interrupted: slipway stopped during the deploy"

// Restore makes the history tell the truth after a restart and puts
// every app behind the router again. What the earlier slipway left
// running (found) is taken back: the live release's instances and
// workers, and the draining pools, which keep serving the sessions pinned
// to them. What is gone is started again (live) or retired (draining).
// Deploys in progress were cut off (failed). An app whose release fails to
// start is logged and left without a live pool; its history still names
// the release that should run. Apps are restored restoreParallel at a
// time: each is independent of the others, and most of a restore waits
// on the apps' own processes (a port probed, a release started).
func (s *Service) Restore(ctx context.Context, found survivors) {
	names, err := s.store.ListApps(ctx)
	if err != nil {
		s.logger.Error("read history", "err", err)
		return
	}
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(restoreParallel, len(names)) {
		wg.Go(func() {
			for app := range next {
				if err := s.restore(ctx, app, found[app]); err != nil {
					s.logger.Error("restore app", "app", app, "err", err)
				}
			}
		})
	}
	for _, app := range names {
		if ctx.Err() != nil {
			break
		}
		next <- app
	}
	close(next)
	wg.Wait()
}

// restoreParallel is how many apps Restore takes back at once.
const restoreParallel = 8

func (s *Service) restore(ctx context.Context, app string, found map[slipway.Version][]slipway.InstanceRecord) error {
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
	for _, rel := range slices.Backward(rels) { // oldest first
		switch rel.Status {
		case slipway.StatusDraining:
			if spec, ok := specOf(rel); ok && s.rel.AdoptDraining(ctx, spec, found[rel.Version], rel.SleepingSince) == nil {
				continue
			}
			for _, rec := range found[rel.Version] { // any it could not take back
				supervisor.KillRecorded(rec.PID, rec.StartTicks)
			}
			s.update(app, rel.Version, slipway.Retired(now))
		case slipway.StatusBuilding:
			s.update(app, rel.Version, slipway.Failed(now, interrupted))
		default:
			continue
		}
		history{s}.Instances(app, rel.Version, nil)
	}
	live := liveRelease(rels)
	s.restoreChange(ctx, app, live)
	s.restoreBranch(ctx, app, live)
	if live == nil {
		s.setUndeployed(app, true)
		return nil
	}
	if s.stopped(ctx, app) { // ps:stop holds across restarts
		for _, rec := range found[live.Version] {
			supervisor.KillRecorded(rec.PID, rec.StartTicks)
		}
		if s.cfg.Pages != nil {
			s.cfg.Pages.SetStopped(app, true)
		}
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
	if !live.SleepingSince.IsZero() && s.rel.AdoptAsleep(spec, found[live.Version], live.SleepingSince) {
		return nil
	}
	_, err = s.rel.Adopt(ctx, spec, found[live.Version])
	return err
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
