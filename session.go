package slipway

import (
	"context"
	"time"
)

// SessionStore keeps the admin sessions signed out before they expire, so
// that a cookie copied before POST /logout stays dead across restarts,
// upgrades and crashes. Implemented by package sqlite.
type SessionStore interface {
	// RevokeSession records that the session with nonce was signed out;
	// it would have expired at expires. Revocations past their expiry
	// may be forgotten.
	RevokeSession(ctx context.Context, nonce string, expires time.Time) error
	// RevokedSessions returns the revoked sessions that expire after now,
	// nonce → expiry.
	RevokedSessions(ctx context.Context, now time.Time) (map[string]time.Time, error)
}
