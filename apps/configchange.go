package apps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/slipway/slipway"
)

// A config change goes live with its release or not at all. Its stored
// config is the history's, written before the release starts (so that the
// release and any later one read it), so the change is first recorded as
// on its way (slipway.SettingConfigChange: each key's value before and
// after), and the record is dropped once the release went live. A release
// that fails puts the keys back as they were; after a crash, Restore does
// the same unless the live release carries the change. Nothing nobody was
// told of goes live later.

// configChange is a config change on its way: each key it touches, with
// its value before and after it (nil for unset).
type configChange struct {
	Before map[string]*string `json:"before"`
	After  map[string]*string `json:"after"`
}

// newConfigChange returns the change that setting set and unsetting unset
// makes to current.
func newConfigChange(current, set map[string]string, unset []string) configChange {
	c := configChange{Before: map[string]*string{}, After: map[string]*string{}}
	for k, v := range set {
		c.Before[k], c.After[k] = valueOf(current, k), &v
	}
	for _, k := range unset {
		c.Before[k], c.After[k] = valueOf(current, k), nil
	}
	return c
}

func valueOf(m map[string]string, k string) *string {
	if v, ok := m[k]; ok {
		return &v
	}
	return nil
}

// undo returns what to set and unset to put the keys back as they were.
func (c configChange) undo() (set map[string]string, unset []string) {
	set = map[string]string{}
	for k, v := range c.Before {
		if v == nil {
			unset = append(unset, k)
		} else {
			set[k] = *v
		}
	}
	return set, unset
}

// in reports whether config carries the change.
func (c configChange) in(config map[string]string) bool {
	for k, v := range c.After {
		got, ok := config[k]
		if (v == nil) == ok || (v != nil && got != *v) {
			return false
		}
	}
	return true
}

// recordChange records c as on its way for app.
func (s *Service) recordChange(ctx context.Context, app string, c configChange) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.store.SetAppSetting(ctx, app, slipway.SettingConfigChange, string(b))
}

// settleChange drops app's change record: the change went live, or is
// meant to wait for the next release.
func (s *Service) settleChange(app string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingConfigChange, ""); err != nil {
		s.logger.Error("config change: drop its record", "app", app, "err", err)
	}
}

// undoChange puts the keys c touched back as they were, says so on out,
// and drops the record. It runs when the change's release did not go live,
// whose context may be the cause (the client went away): it has its own.
func (s *Service) undoChange(app string, c configChange, why string, out io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	set, unset := c.undo()
	if _, err := s.store.SetAppConfig(ctx, app, set, unset); err != nil {
		s.logger.Error("config change: undo", "app", app, "err", err)
		fmt.Fprintf(out, "The config of %s could not be put back (%v): check it with config %s\n", app, err, app)
		return
	}
	s.settleChange(app)
	s.event(ctx, app, slipway.EventConfig, "Config change undone: "+why)
	fmt.Fprintf(out, "Config of %s left as it was: %s\n", app, why)
}

// restoreChange settles a config change a crash cut off: undone, unless
// the live release carries it. Callers hold the app's lock.
func (s *Service) restoreChange(ctx context.Context, app string, live *slipway.Release) {
	raw, err := s.store.AppSetting(ctx, app, slipway.SettingConfigChange)
	if err != nil || raw == "" {
		return
	}
	var c configChange
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		s.logger.Error("config change: unreadable record, dropped", "app", app, "err", err)
		s.settleChange(app)
		return
	}
	if live != nil && c.in(live.Config) {
		s.settleChange(app) // it went live just before the crash
		return
	}
	s.undoChange(app, c, "slipway stopped before its release went live", io.Discard)
	s.logger.Warn("config change cut off by a stop: undone", "app", app)
}
