package apps

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// Webhooks is what the application layer needs of the deploy webhooks'
// delivery (package webhooks' Notifier): Notify queues an event and
// returns at once.
type Webhooks interface {
	Notify(ctx context.Context, ev slipway.WebhookEvent)
}

var _ slipway.WebhookService = (*Service)(nil)

// Bounds of a secret given with webhooks:add --secret.
const (
	minWebhookSecret = 16
	maxWebhookSecret = 256
)

// Webhooks returns the app's webhooks with their last deliveries; their
// secrets stay in the store.
func (s *Service) Webhooks(ctx context.Context, app string) ([]slipway.Webhook, error) {
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	hooks, err := s.store.ListWebhooks(ctx, app)
	if err != nil {
		return nil, err
	}
	for i := range hooks {
		hooks[i].Secret = ""
	}
	return hooks, nil
}

// AddWebhook sends the app's events of the kinds events (all when none)
// to rawURL, signed with secret, or with 32 random bytes slipway makes
// when it is empty. The returned webhook holds the secret: its caller
// shows it once. It is no release and takes no app lock: a deploy in
// progress does not hold it up, and the deploy's own event finds it or
// not.
func (s *Service) AddWebhook(ctx context.Context, app, rawURL string, events []string, secret string) (*slipway.Webhook, error) {
	if s.cfg.Webhooks == nil {
		return nil, slipway.Errorf(slipway.EINVALID, "this slipway delivers no webhooks")
	}
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	url, err := slipway.ParseWebhookURL(rawURL)
	if err != nil {
		return nil, err
	}
	if hooks, err := s.store.ListWebhooks(ctx, app); err != nil {
		return nil, err
	} else if len(hooks) >= slipway.MaxWebhooks {
		return nil, slipway.Errorf(slipway.EINVALID, "%s has %d webhooks, the most an app may have: webhooks:remove %s URL first", app, len(hooks), app)
	}
	events, err = slipway.ParseWebhookEvents(strings.Join(events, ","))
	if err != nil {
		return nil, err
	}
	if secret == "" {
		secret = newWebhookSecret()
	} else if err := checkWebhookSecret(secret); err != nil {
		return nil, err
	}
	h := &slipway.Webhook{App: app, URL: url, Events: events, Secret: secret}
	if err := s.store.AddWebhook(ctx, h); err != nil {
		return nil, err
	}
	detail := "added " + slipway.RedactURL(url) + " for " + strings.Join(events, ", ")
	s.event(ctx, app, slipway.EventWebhooks, detail)
	s.logger.Info("webhook added", "app", app, "webhook", h.ID, "to", slipway.RedactURL(url), "events", strings.Join(events, ","),
		"by", slipway.CallerName(ctx, slipway.HostCaller))
	return h, nil
}

// RemoveWebhook stops sending the app's events to rawURL.
func (s *Service) RemoveWebhook(ctx context.Context, app, rawURL string) error {
	if err := s.exists(ctx, app); err != nil {
		return err
	}
	if url, err := slipway.ParseWebhookURL(rawURL); err == nil {
		rawURL = url // as AddWebhook stored it
	}
	if err := s.store.RemoveWebhook(ctx, app, rawURL); err != nil {
		return err
	}
	s.event(ctx, app, slipway.EventWebhooks, "removed "+slipway.RedactURL(rawURL))
	s.logger.Info("webhook removed", "app", app, "to", slipway.RedactURL(rawURL), "by", slipway.CallerName(ctx, slipway.HostCaller))
	return nil
}

// newWebhookSecret returns 32 random bytes in hex.
func newWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// checkWebhookSecret refuses a secret too short to resist guessing from a
// signed delivery, or one a shell or a receiver's config would mangle.
// The message never repeats it.
func checkWebhookSecret(secret string) error {
	printable := !strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r >= 0x7f })
	if len(secret) < minWebhookSecret || len(secret) > maxWebhookSecret || !printable {
		return slipway.Errorf(slipway.EINVALID, "the secret must be %d to %d printable ASCII characters without spaces; leave --secret out and slipway makes one",
			minWebhookSecret, maxWebhookSecret)
	}
	return nil
}

// notify queues ev, which happened now, for the app's webhooks.
func (s *Service) notify(ev slipway.WebhookEvent) {
	if s.cfg.Webhooks == nil {
		return
	}
	ev.At = time.Now().UTC()
	s.cfg.Webhooks.Notify(context.Background(), ev)
}

// notifyRelease tells the app's webhooks how release v, which a use case
// of kind event made for by, ended: live when err is nil, else failed,
// with the reason the history has.
func (s *Service) notifyRelease(event, app string, v slipway.Version, by string, err error) {
	if s.cfg.Webhooks == nil {
		return
	}
	ev := slipway.WebhookEvent{Event: event, Status: slipway.WebhookSucceeded, App: app, Release: v.String(), By: by, URL: s.URL(app)}
	ctx, cancel := background()
	defer cancel()
	if rel, ferr := s.store.FindRelease(ctx, app, v); ferr == nil {
		ev.Commit, ev.Description = rel.Commit, slipway.OneLine(rel.Subject, 200)
		if rel.RollbackOf > 0 {
			ev.RollbackOf = rel.RollbackOf.String()
		}
		if err != nil {
			ev.Error = rel.Failure
		}
	}
	if err != nil {
		ev.Status = slipway.WebhookFailed
		if ev.Error == "" {
			ev.Error = slipway.ErrorMessage(err)
		}
	}
	s.notify(ev)
}

// notifyReleaseDone is notifyRelease deferred by a use case with its
// named error: at its return, or at a panic, which is a failure (and goes
// on), never a release that went live.
func (s *Service) notifyReleaseDone(event, app string, v slipway.Version, by string, err *error) {
	if p := recover(); p != nil {
		s.notifyRelease(event, app, v, by, errors.New("slipway failed while at it"))
		panic(p)
	}
	s.notifyRelease(event, app, v, by, *err)
}

// notifyPendingConfig tells the app's webhooks that config was stored for
// the next release.
func (s *Service) notifyPendingConfig(ctx context.Context, app string, set map[string]string, unset []string) {
	s.notify(slipway.WebhookEvent{Event: slipway.WebhookConfig, Status: slipway.WebhookPending, App: app,
		Description: configSubject(set, unset), By: slipway.CallerName(ctx, slipway.HostCaller), URL: s.URL(app)})
}

// crashEvery is how often at most an app's webhooks hear of a crash.
const crashEvery = time.Minute

// instanceCrashed is the releaser's OnCrash: an instance exited on its
// own. A crash loop is told at its 4th, 8th, 16th… exit in a row, and
// other crashes of an app at most once a minute (its instances'
// together), so that an app crashing every 30 s does not flood its
// webhooks; slipway's log and the app's have every one.
func (s *Service) instanceCrashed(app string, v slipway.Version, instance, exit string, loop int) {
	if loop > 0 && loop&(loop-1) != 0 {
		return
	}
	if loop == 0 && !s.crashTold(app, time.Now()) {
		return
	}
	s.notify(slipway.WebhookEvent{Event: slipway.WebhookCrash, Status: slipway.WebhookCrashed, App: app, Release: v.String(),
		Process: instance, Exit: exit, CrashLoop: loop, URL: s.URL(app)})
}

// crashTold reports whether a crash of app at now is told: the first in
// crashEvery. A crash loop's exits are thinned out by their count instead.
func (s *Service) crashTold(app string, now time.Time) bool {
	s.mu.Lock()
	last, told := s.crashed[app]
	if !told || now.Sub(last) >= crashEvery {
		if s.crashed == nil {
			s.crashed = map[string]time.Time{}
		}
		s.crashed[app] = now
	}
	s.mu.Unlock()
	return !told || now.Sub(last) >= crashEvery
}
