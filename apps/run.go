package apps

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// runs numbers one-off processes, run.1, run.2, …, for the whole daemon.
var runs atomic.Int64

// Run runs argv once in the live release of app, with its config and
// environment (DYNO=run.N), attached to t (Heroku's and Dokku's run): the
// caller's input, output and, with a terminal, a pty; never routed. Its
// start, who ran it and its exit status go to the app's log. The caller
// going away ends it.
func (s *Service) Run(ctx context.Context, app string, argv []string, t slipway.Terminal) (int, error) {
	by := slipway.CallerName(ctx, slipway.HostCaller)
	if err := s.exists(ctx, app); err != nil {
		return 0, err
	}
	if len(argv) == 0 {
		return 0, slipway.Errorf(slipway.EINVALID, "no command given: run %s -- COMMAND", app)
	}
	rels, err := s.store.ListReleases(ctx, app)
	if err != nil {
		return 0, err
	}
	live, spec, err := s.liveSpec(app, rels)
	if err != nil {
		return 0, err
	}
	id := fmt.Sprintf("run.%d", runs.Add(1))
	shown := slipway.OneLine(strings.Join(argv, " "), 200)
	s.rel.LogLine(app, id, live.Version.String(), id+" started by "+by+": "+shown)
	s.logger.Info("one-off run", "app", app, "instance", id, "by", by, "command", shown)
	s.event(ctx, app, slipway.EventRun, id+": "+slipway.OneLine(shown, 80))
	code, err := s.rel.RunOneOff(ctx, spec, id, argv, t)
	if err != nil {
		s.rel.LogLine(app, id, live.Version.String(), id+" could not start: "+slipway.OneLine(err.Error(), 200))
		return 0, err
	}
	s.rel.LogLine(app, id, live.Version.String(), fmt.Sprintf("%s exited with status %d", id, code))
	return code, nil
}

// liveSpec returns the live release of rels and what it runs from.
func (s *Service) liveSpec(app string, rels []*slipway.Release) (*slipway.Release, releaser.Spec, error) {
	live := liveRelease(rels)
	if live == nil {
		return nil, releaser.Spec{}, slipway.Errorf(slipway.EINVALID, "%s has no live release to run in: push first", app)
	}
	spec, ok := specOf(live)
	if !ok {
		return nil, releaser.Spec{}, slipway.Errorf(slipway.EINVALID, "%s %s has no runnable build recorded: push again", app, live.Version)
	}
	return live, spec, nil
}

// RunDetached runs command once in the live release of app in the
// background (run:detached): its output and how it ended go to the app's
// log, and it returns its name (run.N) at once.
func (s *Service) RunDetached(ctx context.Context, app, command string) (string, error) {
	by := slipway.CallerName(ctx, slipway.HostCaller)
	if err := s.exists(ctx, app); err != nil {
		return "", err
	}
	rels, err := s.store.ListReleases(ctx, app)
	if err != nil {
		return "", err
	}
	live, spec, err := s.liveSpec(app, rels)
	if err != nil {
		return "", err
	}
	id := fmt.Sprintf("run.%d", runs.Add(1))
	s.rel.LogLine(app, id, live.Version.String(), id+" started (detached) by "+by+": "+slipway.OneLine(command, 200))
	s.event(ctx, app, slipway.EventRun, id+" (detached): "+slipway.OneLine(command, 80))
	if err := s.rel.RunDetached(spec, id, command); err != nil {
		return "", err
	}
	return id, nil
}
