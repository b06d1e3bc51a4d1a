package apps

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// MinAutosleep is the shortest idle time after which an app may sleep: a
// wake costs a start and a health check.
const MinAutosleep = time.Second

// SetAutosleep implements slipway.AppService: an idle app sleeps (as Fly's
// auto-stop and Heroku's eco dynos), off by default.
func (s *Service) SetAutosleep(ctx context.Context, app string, after time.Duration, workers bool, out io.Writer) error {
	if after != 0 && after < MinAutosleep {
		return slipway.Errorf(slipway.EINVALID, "--after %s: at least %s", after, MinAutosleep)
	}
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	value := ""
	if after > 0 {
		value = after.String()
		if workers {
			value += " workers"
		}
	}
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingAutosleep, value); err != nil {
		return err
	}
	s.rel.SetAutosleep(app, after, workers)
	switch {
	case after == 0:
		fmt.Fprintf(out, "%s no longer sleeps when idle: its web processes run\n", app)
	case workers:
		fmt.Fprintf(out, "%s sleeps after %s without a request: its web processes and workers stop, and the next request starts them (it waits for the health check); cron still runs\n", app, after)
	default:
		fmt.Fprintf(out, "%s sleeps after %s without a request: its web processes stop, and the next request starts them (it waits for the health check); workers and cron run on\n", app, after)
	}
	s.event(ctx, app, slipway.EventAutosleep, map[bool]string{true: "on: " + value, false: "off"}[after > 0])
	return nil
}

// autosleepOf reads an app's SettingAutosleep.
func autosleepOf(value string) (after time.Duration, workers bool) {
	d, rest, _ := strings.Cut(value, " ")
	after, _ = time.ParseDuration(d)
	return after, rest == "workers"
}

// restoreAutosleep gives the releaser every app's autosleep at a start,
// before the apps are taken back.
func (s *Service) restoreAutosleep(ctx context.Context) {
	all, err := s.store.AllAppSettings(ctx, slipway.SettingAutosleep)
	if err != nil {
		s.logger.Error("read autosleep settings", "err", err)
		return
	}
	for app, v := range all {
		after, workers := autosleepOf(v)
		s.rel.SetAutosleep(app, after, workers)
	}
}

// autosleepText is how apps:info shows an app's autosleep: "" when off.
func autosleepText(value string) string {
	after, workers := autosleepOf(value)
	switch {
	case after == 0:
		return ""
	case workers:
		return after.String() + ", workers too"
	}
	return after.String()
}
