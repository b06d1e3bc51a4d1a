package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/slipway/slipway"
)

var _ slipway.IdentityStore = (*DB)(nil)

// AppUID returns the app's own uid, allocating the next one from base on
// first use; ENOTFOUND for an unknown app. Uids are never reused.
func (db *DB) AppUID(ctx context.Context, app string, base int) (int, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("app identity: %w", err)
	}
	defer tx.Rollback()
	var appID int64
	var uid sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT a.id, i.uid FROM apps a LEFT JOIN app_identity i ON i.app_id = a.id WHERE a.name = ?`, app).Scan(&appID, &uid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, appNotFound(app)
	}
	if err != nil {
		return 0, fmt.Errorf("app identity: %w", err)
	}
	if uid.Valid {
		return int(uid.Int64), nil
	}
	var next int
	if err := tx.QueryRowContext(ctx, `SELECT MAX(COALESCE((SELECT MAX(uid) FROM identities) + 1, ?), ?)`, base, base).Scan(&next); err != nil {
		return 0, fmt.Errorf("app identity: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO identities (uid, app, created_at) VALUES (?, ?, ?)`, next, app, formatTime(tx.now)); err != nil {
		return 0, fmt.Errorf("app identity: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO app_identity (app_id, uid) VALUES (?, ?)`, appID, next); err != nil {
		return 0, fmt.Errorf("app identity: %w", err)
	}
	return next, tx.Commit()
}
