package sqlite

import (
	"context"
	"fmt"

	"github.com/slipway/slipway"
)

var _ slipway.ScaleStore = (*DB)(nil)

// AppScale returns the app's instance counts set with ps:scale, by process
// type; ENOTFOUND for an unknown app.
func (db *DB) AppScale(ctx context.Context, app string) (map[string]int, error) {
	if err := db.checkApp(ctx, app); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT s.type, s.quantity FROM app_scale s JOIN apps a ON a.id = s.app_id WHERE a.name = ?`, app)
	if err != nil {
		return nil, fmt.Errorf("read scale of %s: %w", app, err)
	}
	defer rows.Close()
	scale := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			return nil, fmt.Errorf("read scale of %s: %w", app, err)
		}
		scale[typ] = n
	}
	return scale, rows.Err()
}

// SetAppScale records the instance counts in scale, in one transaction.
func (db *DB) SetAppScale(ctx context.Context, app string, scale map[string]int) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("set scale: %w", err)
	}
	defer tx.Rollback()
	for typ, n := range scale {
		res, err := tx.ExecContext(ctx, `INSERT INTO app_scale (app_id, type, quantity)
			SELECT id, ?, ? FROM apps WHERE name = ?
			ON CONFLICT (app_id, type) DO UPDATE SET quantity = excluded.quantity`, typ, n, app)
		if err != nil {
			return fmt.Errorf("set scale: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return appNotFound(app)
		}
	}
	return tx.Commit()
}

// SetLive makes release v the app's live one in one transaction: the
// release that was live until now becomes draining, and v gets status
// live, its start time, the spec it runs from and its directory. An app
// has at most one live release.
func (db *DB) SetLive(ctx context.Context, app string, v slipway.Version, spec []byte, dir string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("set live: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE releases SET status = 'draining'
		WHERE app_id = (SELECT id FROM apps WHERE name = ?) AND status = 'live' AND version != ?`, app, v); err != nil {
		return fmt.Errorf("set live: %w", err)
	}
	if err := updateRelease(ctx, tx, app, v, slipway.ReleaseUpdate{
		Status: slipway.Set(slipway.StatusLive), StartedAt: &tx.now, Spec: &spec, Dir: &dir,
	}); err != nil {
		return err
	}
	return tx.Commit()
}
