package slipway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Log drains (Heroku's drains:add): every line of an app's log is sent on
// to URLs of the operator's, syslog receivers or HTTPS endpoints.

// MaxLogDrains is how many drains an app may have: each holds a buffer of
// its own (package drains), so the bound is on memory too.
const MaxLogDrains = 8

// maxDrainURL bounds a drain's URL.
const maxDrainURL = 2048

// Log drain states, as `drains NAME` shows them.
const (
	DrainConnecting = "connecting" // nothing delivered yet, nothing failed
	DrainConnected  = "connected"  // the last delivery worked
	DrainRetrying   = "retrying"   // deliveries fail: retried with backoff
	DrainOff        = "off"        // stored, but not sending (no drains here)
)

// LogDrain is one of an app's log drains as `drains NAME` shows it and
// /metrics counts it. It never holds the URL's secrets.
type LogDrain struct {
	App string `json:"app"`
	// ID names the drain in /metrics and for drains:remove: a short keyed
	// hash of its URL (LogDrainID).
	ID string `json:"id"`
	// URL is the drain's URL with its secrets masked (MaskLogDrainURL).
	URL   string `json:"url"`
	State string `json:"state"`
	// Since is when the drain entered State.
	Since time.Time `json:"since"`
	// LastError is why the last delivery failed, while retrying.
	LastError string `json:"last_error,omitempty"`
	// Sent and Dropped count the log lines delivered and those dropped,
	// its buffer full, since slipway started (or the drain was added).
	Sent    uint64 `json:"sent"`
	Dropped uint64 `json:"dropped"`
	// Queued is how many lines wait in its buffer.
	Queued int `json:"queued"`
}

// LogDrainService is the use cases on log drains, for the transports.
type LogDrainService interface {
	// LogDrains lists the app's drains, in the order they were added.
	LogDrains(ctx context.Context, app string) ([]LogDrain, error)
	// AddLogDrain sends the app's log to rawURL from now on
	// (ParseLogDrainURL says which URLs are taken).
	AddLogDrain(ctx context.Context, app, rawURL string, out io.Writer) error
	// RemoveLogDrain stops sending to the drain whose URL or ID is which.
	RemoveLogDrain(ctx context.Context, app, which string, out io.Writer) error
}

// ParseLogDrainURL checks a drain's URL and returns it parsed:
// syslog://HOST[:PORT] (RFC 5424 over TCP, port 514 by default),
// syslog+tls://HOST[:PORT] (over TLS, 6514) or https://[USER:PASSWORD@]HOST[:PORT][/PATH][?QUERY]
// (batched POSTs). Plain http:// is refused: the logs, and the URL's
// credentials, would cross the network in clear to a receiver that was
// chosen for the web.
func ParseLogDrainURL(raw string) (*url.URL, error) {
	if raw == "" || len(raw) > maxDrainURL {
		return nil, Errorf(EINVALID, "a drain's URL has 1 to %d characters", maxDrainURL)
	}
	for _, c := range []byte(raw) {
		if c <= ' ' || c == 0x7f {
			return nil, Errorf(EINVALID, "a drain's URL has no spaces or control characters: percent-encode them")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return nil, Errorf(EINVALID, "the drain is not a URL slipway takes: use syslog+tls://HOST:PORT, syslog://HOST:PORT or https://HOST/PATH")
	}
	switch u.Scheme {
	case "syslog", "syslog+tls", "https":
	case "http":
		return nil, Errorf(EINVALID, "http:// drains are refused: the logs and the URL's credentials would cross the network in clear; use https://")
	case "":
		return nil, Errorf(EINVALID, "a drain's URL starts with syslog+tls://, syslog:// or https://")
	default:
		return nil, Errorf(EINVALID, "a drain's URL starts with syslog+tls://, syslog:// or https://, not %s://", OneLine(u.Scheme, 20))
	}
	if u.Hostname() == "" {
		return nil, Errorf(EINVALID, "a drain's URL names a host: %s://HOST:PORT", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, Errorf(EINVALID, "a drain's port is a number from 1 to 65535, not %q", OneLine(p, 10))
		}
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, Errorf(EINVALID, "a drain's URL has no #fragment")
	}
	if u.Scheme != "https" && (u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery) {
		return nil, Errorf(EINVALID, "a syslog drain's URL is %s://HOST:PORT, with no user, path or query", u.Scheme)
	}
	return u, nil
}

// DrainPort is the port a drain's URL u connects to: its own, or its
// scheme's.
func DrainPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "syslog":
		return "514"
	case "syslog+tls":
		return "6514"
	}
	return "443"
}

// LogDrainIDKey derives the key of LogDrainID from secret, a secret of
// the installation that outlives restarts and upgrades and never leaves
// its host (DATA/drains.key), under a label of its own: an id tells
// nothing of it.
func LogDrainIDKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("slipway log drain id key v1"))
	return m.Sum(nil)
}

// LogDrainID is the short id of a drain's URL, as /metrics labels it and
// drains:remove takes it: the first 8 hex digits of the URL's
// HMAC-SHA256 under key (LogDrainIDKey). Keyed, since /metrics needs no
// login and the URL may hold a password: with a plain hash, whoever knew
// the rest of the URL could try passwords against the id offline.
func LogDrainID(key []byte, rawURL string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rawURL))
	return hex.EncodeToString(m.Sum(nil)[:4])
}

// MaskLogDrainURL returns a drain's URL as it may be shown: scheme, host
// and port; a user and password become "***@", a path "/***", a query
// "?***" (drain services put their tokens in any of them:
// https://HOST/receiver/v1/http/TOKEN, https://HOST/TOKEN).
func MaskLogDrainURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "(invalid URL)"
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString("***@")
	}
	b.WriteString(u.Host)
	if path := u.EscapedPath(); path != "" && path != "/" {
		b.WriteString("/***")
	}
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?***")
	}
	return b.String()
}
