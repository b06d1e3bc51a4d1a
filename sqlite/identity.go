package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/slipway/slipway"
)

var _ slipway.IdentityStore = (*DB)(nil)

// AppUID returns the app's own uid, allocating the next free one of uids
// on first use; ENOTFOUND for an unknown app, EINVALID when uids has none
// left. Uids are never reused.
func (db *DB) AppUID(ctx context.Context, app string, uids slipway.UIDRange) (int, error) {
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
	next, err := allocUID(ctx, tx, app, app, uids)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO app_identity (app_id, uid) VALUES (?, ?)`, appID, next); err != nil {
		return 0, fmt.Errorf("app identity: %w", err)
	}
	return next, tx.Commit()
}

// UIDSpan returns the lowest and highest uid ever given to an app of this
// data dir; ok false when none was.
func (db *DB) UIDSpan(ctx context.Context) (lo, hi int, ok bool, err error) {
	var l, h sql.NullInt64
	if err := db.db.QueryRowContext(ctx, `SELECT MIN(uid), MAX(uid) FROM identities`).Scan(&l, &h); err != nil {
		return 0, 0, false, fmt.Errorf("app identities: %w", err)
	}
	return int(l.Int64), int(h.Int64), l.Valid, nil
}
