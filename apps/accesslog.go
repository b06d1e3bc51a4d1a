package apps

import (
	"context"
	"fmt"
	"io"

	"github.com/slipway/slipway"
)

// SetAccessLog implements slipway.AppService: with on, the router writes
// a line for each request of the app to its log (logs NAME -p router
// shows them), as Heroku's router does; off stops them. On by default,
// kept across restarts.
func (s *Service) SetAccessLog(ctx context.Context, app string, on bool, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	value := "off"
	if on {
		value = ""
	}
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingAccessLog, value); err != nil {
		return err
	}
	s.routeAccessLog(app, on)
	if on {
		fmt.Fprintf(out, "The router writes a line for each request of %s to its log: logs %s -p router shows them\n", app, app)
	} else {
		fmt.Fprintf(out, "The router no longer writes the requests of %s to its log (logs:access %s on brings them back)\n", app, app)
	}
	s.logger.Info("access log", "app", app, "on", on)
	s.event(ctx, app, slipway.EventAccessLog, map[bool]string{true: "on", false: "off"}[on])
	return nil
}

// accessLogOn reports whether the router writes app's access lines.
func (s *Service) accessLogOn(ctx context.Context, app string) bool {
	v, _ := s.store.AppSetting(ctx, app, slipway.SettingAccessLog)
	return v != "off"
}

// routeAccessLog tells the router whether to write app's access lines.
func (s *Service) routeAccessLog(app string, on bool) {
	if s.cfg.AccessLogs != nil {
		s.cfg.AccessLogs.SetAccessLog(app, on)
	}
}

// restoreAccessLogs tells the router which apps have their access lines
// off, at start.
func (s *Service) restoreAccessLogs(ctx context.Context) {
	all, err := s.store.AllAppSettings(ctx, slipway.SettingAccessLog)
	if err != nil {
		s.logger.Error("read access log settings", "err", err)
		return
	}
	for app, v := range all {
		s.routeAccessLog(app, v != "off")
	}
}
