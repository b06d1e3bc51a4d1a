package apps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/slipway/slipway"
)

var _ slipway.LogDrainService = (*Service)(nil)

// LogDrains is what the Service needs of the log drains' delivery
// (package drains): each app's drains, told at start and on each change,
// and how they stand.
type LogDrains interface {
	// Set makes urls app's drains; none: it has none.
	Set(app string, urls []string)
	// Status returns how app's drains stand, their URLs masked.
	Status(app string) []slipway.LogDrain
}

// LogDrains lists the app's drains, in the order added, with how each
// stands: the stored ones, whatever the delivery knows of them.
func (s *Service) LogDrains(ctx context.Context, app string) ([]slipway.LogDrain, error) {
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	urls, err := s.drainURLs(ctx, app)
	if err != nil {
		return nil, err
	}
	var live []slipway.LogDrain
	if s.cfg.Drains != nil {
		live = s.cfg.Drains.Status(app)
	}
	out := make([]slipway.LogDrain, len(urls))
	for i, raw := range urls {
		id := s.drainID(raw)
		out[i] = slipway.LogDrain{App: app, ID: id, URL: slipway.MaskLogDrainURL(raw), State: slipway.DrainOff}
		if j := slices.IndexFunc(live, func(d slipway.LogDrain) bool { return d.ID == id }); j >= 0 {
			out[i] = live[j]
		}
	}
	return out, nil
}

// AddLogDrain sends the app's log to rawURL from now on, and at every
// start: stored, then given to the delivery.
func (s *Service) AddLogDrain(ctx context.Context, app, rawURL string, out io.Writer) error {
	u, err := slipway.ParseLogDrainURL(rawURL)
	if err != nil {
		return err
	}
	raw := u.String()
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	urls, err := s.drainURLs(ctx, app)
	if err != nil {
		return err
	}
	id, shown := s.drainID(raw), slipway.MaskLogDrainURL(raw)
	if slices.Contains(urls, raw) {
		return slipway.Errorf(slipway.ECONFLICT, "%s drains to %s already (%s)", app, shown, id)
	}
	if len(urls) >= slipway.MaxLogDrains {
		return slipway.Errorf(slipway.EINVALID, "%s has %d drains, the most an app may have: drains:remove one first", app, len(urls))
	}
	if err := s.storeDrains(ctx, app, append(urls, raw)); err != nil {
		return err
	}
	fmt.Fprintf(out, "Added drain %s %s: %s's log goes there from now on\n", id, shown, app)
	s.logger.Info("log drain added", "app", app, "drain", id)
	s.event(ctx, app, slipway.EventDrains, "added "+shown)
	return nil
}

// RemoveLogDrain stops sending the app's log to the drain whose URL or
// ID is which.
func (s *Service) RemoveLogDrain(ctx context.Context, app, which string, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	urls, err := s.drainURLs(ctx, app)
	if err != nil {
		return err
	}
	canonical := which
	if u, err := slipway.ParseLogDrainURL(which); err == nil {
		canonical = u.String()
	}
	i := slices.IndexFunc(urls, func(raw string) bool { return raw == canonical || s.drainID(raw) == which })
	if i < 0 {
		i = slices.IndexFunc(urls, func(raw string) bool { return legacyDrainID(raw) == which })
	}
	if i < 0 {
		shown := slipway.OneLine(which, 40)
		if strings.Contains(which, "://") {
			shown = slipway.MaskLogDrainURL(which)
		}
		return slipway.Errorf(slipway.ENOTFOUND, "%s has no drain %q: drains %s lists them", app, shown, app)
	}
	raw := urls[i]
	if err := s.storeDrains(ctx, app, slices.Delete(urls, i, i+1)); err != nil {
		return err
	}
	id, shown := s.drainID(raw), slipway.MaskLogDrainURL(raw)
	fmt.Fprintf(out, "Removed drain %s %s: %s's log no longer goes there\n", id, shown, app)
	s.logger.Info("log drain removed", "app", app, "drain", id)
	s.event(ctx, app, slipway.EventDrains, "removed "+shown)
	return nil
}

// drainID is the id of the drain to raw.
func (s *Service) drainID(raw string) string { return slipway.LogDrainID(s.cfg.DrainIDKey, raw) }

// legacyDrainID is the id slipway gave the drain to raw before ids were
// keyed, the first 8 hex digits of the URL's SHA-256, which drains:remove
// still takes, so that a script written before goes on working. It is
// only compared with what the user typed, never shown.
func legacyDrainID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:4])
}

// drainURLs returns the app's stored drains.
func (s *Service) drainURLs(ctx context.Context, app string) ([]string, error) {
	v, err := s.store.AppSetting(ctx, app, slipway.SettingDrains)
	if err != nil || v == "" {
		return nil, err
	}
	var urls []string
	if err := json.Unmarshal([]byte(v), &urls); err != nil {
		return nil, fmt.Errorf("read the drains of %s: %w", app, err)
	}
	return urls, nil
}

// storeDrains stores urls as the app's drains, then gives them to the
// delivery. The caller holds the app's lock.
func (s *Service) storeDrains(ctx context.Context, app string, urls []string) error {
	value := ""
	if len(urls) > 0 {
		data, err := json.Marshal(urls)
		if err != nil {
			return err
		}
		value = string(data)
	}
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingDrains, value); err != nil {
		return err
	}
	s.setDrains(app, urls)
	return nil
}

// setDrains tells the delivery app's drains, if there is one.
func (s *Service) setDrains(app string, urls []string) {
	if s.cfg.Drains != nil {
		s.cfg.Drains.Set(app, urls)
	}
}

// restoreDrains gives the delivery every app's stored drains, at start,
// before the apps' processes write.
func (s *Service) restoreDrains(ctx context.Context) {
	if s.cfg.Drains == nil {
		return
	}
	all, err := s.store.AllAppSettings(ctx, slipway.SettingDrains)
	if err != nil {
		s.logger.Error("read the log drains", "err", err)
		return
	}
	for app := range all {
		urls, err := s.drainURLs(ctx, app)
		if err != nil {
			s.logger.Error("read the log drains", "app", app, "err", err)
			continue
		}
		s.setDrains(app, urls)
	}
}
