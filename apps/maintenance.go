package apps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/slipway/slipway"
)

// maxMaintenancePage bounds the maintenance.html slipway serves.
const maxMaintenancePage = 1 << 20

// SetMaintenance puts the app in maintenance or takes it out: while in it
// the router answers every request with 503, Retry-After and the app's own
// maintenance.html from the live release's root (a short page without
// one), and the app keeps running, so that migrations can run meanwhile;
// deploys go on as usual. It is kept across restarts.
func (s *Service) SetMaintenance(ctx context.Context, app string, on bool, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	value := ""
	if on {
		value = "on"
	}
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingMaintenance, value); err != nil {
		return err
	}
	page := s.routeMaintenance(ctx, app, on)
	switch {
	case !on:
		fmt.Fprintf(out, "%s is out of maintenance: the router serves it again\n", app)
	case page:
		fmt.Fprintf(out, "%s is in maintenance: every request gets 503 and its maintenance.html; the app keeps running\n", app)
	default:
		fmt.Fprintf(out, "%s is in maintenance: every request gets 503 (a maintenance.html in the app's root would be shown); the app keeps running\n", app)
	}
	s.logger.Info("maintenance", "app", app, "on", on)
	s.event(ctx, app, slipway.EventMaintenance, map[bool]string{true: "on", false: "off"}[on])
	return nil
}

// maintenance reports whether app is in maintenance.
func (s *Service) maintenance(ctx context.Context, app string) bool {
	v, _ := s.store.AppSetting(ctx, app, slipway.SettingMaintenance)
	return v == "on"
}

// routeMaintenance tells the router, with the live release's page, and
// reports whether there is one.
func (s *Service) routeMaintenance(ctx context.Context, app string, on bool) bool {
	if s.cfg.Pages == nil {
		return false
	}
	var page []byte
	if on {
		page = s.maintenancePage(ctx, app)
	}
	s.cfg.Pages.SetMaintenance(app, on, page)
	return len(page) > 0
}

// maintenancePage reads maintenance.html from the live release's root, if
// it has one.
func (s *Service) maintenancePage(ctx context.Context, app string) []byte {
	rels, err := s.store.ListReleases(ctx, app)
	if err != nil {
		return nil
	}
	live := liveRelease(rels)
	if live == nil || live.Dir == "" {
		return nil
	}
	root, err := os.OpenRoot(live.Dir) // the page may not lead out of the release
	if err != nil {
		return nil
	}
	defer root.Close()
	f, err := root.Open("maintenance.html")
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return nil
	}
	defer f.Close()
	page, _ := io.ReadAll(io.LimitReader(f, maxMaintenancePage))
	return page
}

// restoreMaintenance puts the apps that were in maintenance back in it,
// at start.
func (s *Service) restoreMaintenance(ctx context.Context) {
	all, err := s.store.AllAppSettings(ctx, slipway.SettingMaintenance)
	if err != nil {
		s.logger.Error("read maintenance settings", "err", err)
		return
	}
	for app, v := range all {
		if v == "on" {
			s.routeMaintenance(ctx, app, true)
		}
	}
}

// refreshMaintenance shows the page of a new live release while the app
// is in maintenance (after a deploy or a rollback).
func (s *Service) refreshMaintenance(ctx context.Context, app string) {
	if s.maintenance(ctx, app) {
		s.routeMaintenance(ctx, app, true)
	}
}
