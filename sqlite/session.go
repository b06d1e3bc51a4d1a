package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway/slipway"
)

var _ slipway.SessionStore = (*DB)(nil)

// RevokeSession records a signed-out session, and forgets those past
// their expiry.
func (db *DB) RevokeSession(ctx context.Context, nonce string, expires time.Time) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM revoked_sessions WHERE expires <= ?`, db.now().Unix()); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_sessions (nonce, expires) VALUES (?, ?)
		ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires`, nonce, expires.Unix()); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokedSessions returns the revoked sessions that expire after now.
func (db *DB) RevokedSessions(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT nonce, expires FROM revoked_sessions WHERE expires > ?`, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("read revoked sessions: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var nonce string
		var exp int64
		if err := rows.Scan(&nonce, &exp); err != nil {
			return nil, fmt.Errorf("read revoked sessions: %w", err)
		}
		out[nonce] = time.Unix(exp, 0)
	}
	return out, rows.Err()
}
