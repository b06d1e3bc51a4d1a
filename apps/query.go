package apps

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/termsafe"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/supervisor"
)

// Apps implements slipway.AppService: every app of the history with its live
// release and running instances, sorted by name.
func (s *Service) Apps(ctx context.Context) ([]slipway.AppSummary, error) {
	names, err := s.store.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	running := map[string]releaser.AppStatus{}
	for _, st := range s.rel.Apps() {
		running[st.Name] = st
	}
	out := make([]slipway.AppSummary, 0, len(names))
	for _, name := range names {
		sum := slipway.AppSummary{Name: name, URL: s.URL(name), Domains: []string{}}
		if own, err := s.store.AppDomains(ctx, name); err == nil {
			sum.Domains = own
		}
		rels, err := s.store.ListReleases(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(rels) > 0 {
			sum.LastDeploy = rels[0].CreatedAt
		}
		if live := liveRelease(rels); live != nil {
			sum.Live, sum.Commit = live.Version, live.Commit
		}
		if st, ok := running[name]; ok {
			sum.Instances, sum.Draining = st.Instances, len(st.Draining)
			sum.Crashed, sum.CrashLoop = st.Crashed, st.CrashLoop
		}
		sleeping := running[name].SleepingSince
		switch {
		case s.stopped(ctx, name):
			sum.State = "stopped"
		case s.maintenance(ctx, name):
			sum.State = "maintenance"
		case sum.Live == 0:
			sum.State = "undeployed"
		case sum.CrashLoop || sum.Crashed > 0:
			sum.State = "crashed"
		case !sleeping.IsZero():
			sum.State = slipway.StateSleeping
		default:
			sum.State = "running"
		}
		out = append(out, sum)
	}
	return out, nil
}

// Releases implements slipway.AppService.
func (s *Service) Releases(ctx context.Context, app string) ([]*slipway.Release, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	return s.store.ListReleases(ctx, app)
}

// Release implements slipway.AppService.
func (s *Service) Release(ctx context.Context, app string, v slipway.Version) (*slipway.Release, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	return s.store.FindRelease(ctx, app, v)
}

// BuildLog implements slipway.AppService.
func (s *Service) BuildLog(ctx context.Context, app string, v slipway.Version) ([]byte, error) {
	rel, err := s.Release(ctx, app, v)
	if err != nil {
		return nil, err
	}
	if rel.LogPath == "" {
		return nil, nil
	}
	data, err := os.ReadFile(rel.LogPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// Processes lists the app's running instances: the live release's, then
// the draining ones', newest first.
func (s *Service) Processes(ctx context.Context, app string) ([]releaser.ProcessStatus, error) {
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	return s.rel.Processes(app), nil
}

// CronList returns the live release's cron jobs and their next runs.
func (s *Service) CronList(ctx context.Context, app string) ([]releaser.CronEntry, error) {
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	return s.rel.CronList(app), nil
}

// Logs writes the app's log to out: the last lines, then, with Follow,
// new lines as they come, until ctx is done.
func (s *Service) Logs(ctx context.Context, app string, opt supervisor.LogOptions, out io.Writer) error {
	if err := s.exists(ctx, app); err != nil {
		return err
	}
	return supervisor.Tail(ctx, s.layout.AppLog(app), opt, out)
}

// Draining returns the app's draining releases with their retirement.
func (s *Service) Draining(ctx context.Context, app string) ([]releaser.DrainStatus, error) {
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	return s.rel.Draining(app), nil
}

// logLinesShown is how many lines of the app's log the app page shows.
const logLinesShown = 30

// App implements slipway.AppService: the app's running processes, draining
// pools, domains, scale, config keys, settings, newest events and the end
// of its log.
func (s *Service) App(ctx context.Context, app string) (*slipway.AppDetail, error) {
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	d := &slipway.AppDetail{Name: app, URL: s.URL(app), GitRemote: s.GitRemote(app), Domains: []string{},
		Processes: []slipway.AppProcess{}, Draining: []slipway.AppDrain{}, Config: []slipway.ConfigKey{}, Services: []slipway.LinkedService{}}
	var err error
	if d.Domains, err = s.store.AppDomains(ctx, app); err != nil {
		return nil, err
	}
	if d.Scale, err = s.store.AppScale(ctx, app); err != nil {
		return nil, err
	}
	for _, p := range s.rel.Processes(app) {
		d.Processes = append(d.Processes, slipway.AppProcess{ID: p.ID, Release: p.Release, Live: p.Live, State: p.State,
			LastExit: p.LastExit, Since: p.Since, Restarts: p.Restarts, PID: p.PID, Port: p.Port})
	}
	for _, dr := range s.rel.Draining(app) {
		d.Draining = append(d.Draining, slipway.AppDrain{Release: dr.Release, Since: dr.Since, Sessions: dr.Sessions,
			LastSeen: dr.LastSeen, IdleRetire: dr.IdleRetire, RetireBy: dr.RetireBy, SleepingSince: dr.SleepingSince})
	}
	for _, st := range s.rel.Apps() {
		if st.Name == app {
			d.CrashLoop, d.SleepingSince = st.CrashLoop, st.SleepingSince
		}
	}
	if v, _ := s.store.AppSetting(ctx, app, slipway.SettingAutosleep); v != "" {
		d.Autosleep = autosleepText(v)
	}
	d.Services = s.linkedServices(ctx, app)
	stored, err := s.store.AppConfig(ctx, app)
	if err != nil {
		return nil, err
	}
	rels, err := s.store.ListReleases(ctx, app)
	if err != nil {
		return nil, err
	}
	var running map[string]string
	if live := liveRelease(rels); live != nil {
		running = live.Config
	}
	for _, k := range slices.Sorted(maps.Keys(stored)) {
		v, ok := running[k]
		d.Config = append(d.Config, slipway.ConfigKey{Key: k, Pending: running != nil && (!ok || v != stored[k])})
	}
	for _, k := range slices.Sorted(maps.Keys(running)) {
		if _, ok := stored[k]; !ok {
			d.Config = append(d.Config, slipway.ConfigKey{Key: k, Pending: true, Removed: true})
		}
	}
	d.Maintenance = s.maintenance(ctx, app)
	d.Stopped = s.stopped(ctx, app)
	if d.Events, err = s.store.ListEvents(ctx, app, maxActivity); err != nil {
		return nil, err
	}
	if d.Events == nil {
		d.Events = []slipway.Event{}
	}
	var log bytes.Buffer
	if err := supervisor.Tail(ctx, s.layout.AppLog(app), supervisor.LogOptions{Lines: logLinesShown}, &log); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	d.Log = termsafe.Plain(log.String())
	return d, nil
}
