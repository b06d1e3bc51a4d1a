package slipway

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Deploy webhooks (webhooks:add NAME URL): on what happens to an app,
// slipway POSTs a JSON WebhookEvent to each of the app's webhooks that
// asked for its kind, signed with the webhook's secret as GitHub signs
// its own (X-Hub-Signature-256), retried with backoff; the last
// deliveries of each are kept for `webhooks NAME`.

// Webhook event kinds: what a webhook may ask to hear of.
const (
	WebhookDeploy   = "deploy"   // a push (or git:from-image) went live, or failed
	WebhookRollback = "rollback" // a rollback went live, or failed
	WebhookConfig   = "config"   // a config release went live or failed, or config was stored (--no-restart)
	WebhookCrash    = "crash"    // an instance exited on its own and is being restarted
)

// WebhookEvents are the kinds of WebhookEvent, in the order help names
// them: a webhook added without --events hears of them all.
var WebhookEvents = []string{WebhookDeploy, WebhookRollback, WebhookCrash, WebhookConfig}

// The statuses of a WebhookEvent: Heroku's words for a release's
// outcome and a dyno's state.
const (
	WebhookSucceeded = "succeeded" // the release went live
	WebhookFailed    = "failed"    // the release did not go live; the one live before serves on
	WebhookPending   = "pending"   // config stored, live with the next release (--no-restart, a stopped app)
	WebhookCrashed   = "crashed"   // an instance exited; it is restarted
)

// EventWebhooks is the activity of webhooks:add and webhooks:remove.
const EventWebhooks = "webhooks"

// WebhookEvent is the JSON body of a webhook delivery.
//
//	{"event":"deploy","status":"succeeded","app":"shop","release":"v4",
//	 "commit":"3f2a9c1b…","description":"Fix the cart","by":"alice@laptop (SHA256:…)",
//	 "at":"2026-03-01T12:00:00Z","url":"http://shop.example.com/"}
type WebhookEvent struct {
	// Event is the kind: deploy, rollback, config or crash.
	Event string `json:"event"`
	// Status is succeeded or failed for a release, pending for config
	// stored for the next one, crashed for a crash.
	Status string `json:"status"`
	App    string `json:"app"`
	// Release is the release it is about ("v4"): the one made, or for a
	// crash the one the instance was started for.
	Release string `json:"release,omitempty"`
	// Commit is the full SHA the release runs.
	Commit string `json:"commit,omitempty"`
	// Description says what the release is: the commit's subject, "Set
	// GREETING" (never a value), "Rollback to v2".
	Description string `json:"description,omitempty"`
	// By is who did it: an ssh key's "comment (fingerprint)", "admin" for
	// the admin page, "slipway on the host"; absent for a crash.
	By string `json:"by,omitempty"`
	// At is when it happened, RFC 3339 in UTC.
	At time.Time `json:"at"`
	// URL is where the app is served.
	URL string `json:"url,omitempty"`
	// Error says why a release failed, as releases:info says it.
	Error string `json:"error,omitempty"`
	// RollbackOf is the release a rollback runs again ("v2").
	RollbackOf string `json:"rollback_of,omitempty"`
	// Process and Exit are a crash's instance ("web.1") and how it ended
	// ("exit status 3", "signal: killed").
	Process string `json:"process,omitempty"`
	Exit    string `json:"exit,omitempty"`
	// CrashLoop is, for a crash loop, how many times in a row the
	// instance has exited without a stable run.
	CrashLoop int `json:"crash_loop,omitempty"`
}

// Webhook is a URL that hears of some of an app's events. The app and the
// URL name it; ID names it to the store.
type Webhook struct {
	ID      int64     `json:"id"`
	App     string    `json:"app"`
	URL     string    `json:"url"`
	Events  []string  `json:"events"`
	Created time.Time `json:"created"`
	// Secret is the HMAC key that signs the deliveries: kept by the
	// store, shown once (webhooks:add), never marshalled or logged.
	Secret string `json:"-"`
	// Deliveries are the newest deliveries, newest first.
	Deliveries []WebhookDelivery `json:"deliveries,omitempty"`
}

// Wants reports whether the webhook hears of events of kind event.
func (w Webhook) Wants(event string) bool { return slices.Contains(w.Events, event) }

// WebhookDelivery is one event sent to a webhook: its attempts and how
// the last one went.
type WebhookDelivery struct {
	// ID is the X-Slipway-Delivery header, the same on every attempt.
	ID      string    `json:"id"`
	At      time.Time `json:"at"` // when the first attempt began
	Event   string    `json:"event"`
	Release string    `json:"release,omitempty"`
	// StatusCode is the last attempt's HTTP status; 0 when none answered.
	StatusCode int `json:"status_code,omitempty"`
	// Error says why the last attempt failed when its status does not:
	// a refused connection, a timeout.
	Error    string        `json:"error,omitempty"`
	Attempts int           `json:"attempts"`
	Duration time.Duration `json:"duration_ns"` // from the first attempt to the last answer
}

// OK reports whether the delivery was answered with a 2xx status.
func (d WebhookDelivery) OK() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// MaxWebhookDeliveries is how many deliveries the store keeps of each
// webhook, the newest.
const MaxWebhookDeliveries = 20

// WebhookStore keeps the apps' webhooks and their last deliveries.
// Implemented by package sqlite.
type WebhookStore interface {
	// AddWebhook records h (its App, URL, Events and Secret) and sets its
	// ID and Created; ENOTFOUND for an unknown app, ECONFLICT when the
	// app has a webhook to that URL.
	AddWebhook(ctx context.Context, h *Webhook) error
	// ListWebhooks returns the app's webhooks, oldest first, with their
	// secrets and newest deliveries; ENOTFOUND for an unknown app.
	ListWebhooks(ctx context.Context, app string) ([]Webhook, error)
	// RemoveWebhook removes the app's webhook to url with its
	// deliveries; ENOTFOUND when the app has none.
	RemoveWebhook(ctx context.Context, app, url string) error
	// AddWebhookDelivery records d as webhook id's newest delivery,
	// keeping the newest MaxWebhookDeliveries; a webhook removed
	// meanwhile is no error.
	AddWebhookDelivery(ctx context.Context, id int64, d WebhookDelivery) error
}

// WebhookService is the use cases on webhooks, for the transports.
type WebhookService interface {
	// Webhooks returns the app's webhooks with their last deliveries,
	// secrets left out.
	Webhooks(ctx context.Context, app string) ([]Webhook, error)
	// AddWebhook sends the app's events of the kinds events (all when
	// empty) to url, signed with secret, or with one slipway makes when
	// secret is empty; the returned Webhook carries the secret, the only
	// time it is shown.
	AddWebhook(ctx context.Context, app, url string, events []string, secret string) (*Webhook, error)
	// RemoveWebhook stops sending the app's events to url.
	RemoveWebhook(ctx context.Context, app, url string) error
}

// MaxWebhookURLLen bounds a webhook's URL.
const MaxWebhookURLLen = 2048

// MaxWebhooks is how many webhooks an app may have: each event is sent to
// each of them, retried, and recorded.
const MaxWebhooks = 8

// ParseWebhookURL checks raw as a webhook's URL: http or https, a host,
// no user or password (a secret in the URL would be shown and logged:
// the signature is the credential), no fragment. Internal addresses are
// allowed: only those who manage the app add its webhooks, and a hook to
// a service beside slipway is legitimate; redirects are never followed,
// and link-local and cloud metadata addresses are refused when dialed,
// directly or through a proxy (package webhooks).
func ParseWebhookURL(raw string) (string, error) {
	if len(raw) > MaxWebhookURLLen {
		return "", Errorf(EINVALID, "the webhook's URL is longer than %d bytes", MaxWebhookURLLen)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", Errorf(EINVALID, "the webhook's URL has spaces or control characters: encode them")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", Errorf(EINVALID, "the webhook's URL is not a URL: give one such as https://hooks.example.com/slipway")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", Errorf(EINVALID, "%q is not an http or https URL: webhooks are POSTed over HTTP(S)", OneLine(RedactURL(raw), 80))
	}
	if u.User != nil {
		return "", Errorf(EINVALID, "the webhook's URL has a user or password in it: leave it out; the receiver checks X-Hub-Signature-256 instead")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return "", Errorf(EINVALID, "the webhook's URL has a #fragment, which is never sent: leave it out")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", Errorf(EINVALID, "%q has no valid port: use 1 to 65535", OneLine(RedactURL(raw), 80))
		}
	}
	return u.String(), nil
}

// ParseWebhookEvents reads --events: kinds separated by commas; none
// given means every kind. Each is checked and given once, in
// WebhookEvents' order.
func ParseWebhookEvents(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(WebhookEvents), nil
	}
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if !slices.Contains(WebhookEvents, e) {
			return nil, Errorf(EINVALID, "unknown webhook event %q: use %s, separated by commas", OneLine(e, 40), strings.Join(WebhookEvents, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(WebhookEvents, a) - slices.Index(WebhookEvents, b) })
	return out, nil
}

// RedactURL returns u without what may be a credential: its scheme and
// host, and "/…" for a path or query (a chat service's hook URL holds its
// token there), for logs and the activity list.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a URL)"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/…"
	}
	return out
}
