package apps

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/supervisor"
	"github.com/slipway/slipway/web"
)

var _ web.Backend = (*Service)(nil)

// Apps implements web.Backend: every app of the history with its live
// release and running instances, sorted by name.
func (s *Service) Apps(ctx context.Context) ([]web.AppSummary, error) {
	names, err := s.store.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	running := map[string]releaser.AppStatus{}
	for _, st := range s.rel.Apps() {
		running[st.Name] = st
	}
	out := make([]web.AppSummary, 0, len(names))
	for _, name := range names {
		sum := web.AppSummary{Name: name, URL: s.URL(name), Domains: []string{}}
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
		out = append(out, sum)
	}
	return out, nil
}

// Releases implements web.Backend.
func (s *Service) Releases(ctx context.Context, app string) ([]*slipway.Release, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	return s.store.ListReleases(ctx, app)
}

// Release implements web.Backend.
func (s *Service) Release(ctx context.Context, app string, v slipway.Version) (*slipway.Release, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	return s.store.FindRelease(ctx, app, v)
}

// BuildLog implements web.Backend.
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
