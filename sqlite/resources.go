package sqlite

import (
	"context"
	"fmt"

	"github.com/slipway/slipway"
)

var _ slipway.ResourceStore = (*DB)(nil)

// AppLimits returns the app's limits by process type; ENOTFOUND for an
// unknown app.
func (db *DB) AppLimits(ctx context.Context, app string) (map[string]slipway.Limits, error) {
	if err := db.checkApp(ctx, app); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT r.process, r.memory, r.cpu, r.pids FROM app_resources r JOIN apps a ON a.id = r.app_id WHERE a.name = ?`, app)
	if err != nil {
		return nil, fmt.Errorf("read limits of %s: %w", app, err)
	}
	defer rows.Close()
	out := map[string]slipway.Limits{}
	for rows.Next() {
		var p string
		var l slipway.Limits
		if err := rows.Scan(&p, &l.Memory, &l.CPU, &l.PIDs); err != nil {
			return nil, fmt.Errorf("read limits of %s: %w", app, err)
		}
		out[p] = l
	}
	return out, rows.Err()
}

// SetAppLimits records the limits of the app's process type; all-zero
// limits remove the row.
func (db *DB) SetAppLimits(ctx context.Context, app, process string, l slipway.Limits) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("set limits: %w", err)
	}
	defer tx.Rollback()
	var n int64
	if l == (slipway.Limits{}) {
		_, err = tx.ExecContext(ctx, `DELETE FROM app_resources WHERE process = ? AND app_id = (SELECT id FROM apps WHERE name = ?)`, process, app)
		if err == nil {
			err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM apps WHERE name = ?`, app).Scan(&n)
		}
	} else {
		var res interface{ RowsAffected() (int64, error) }
		res, err = tx.ExecContext(ctx, `INSERT INTO app_resources (app_id, process, memory, cpu, pids)
			SELECT id, ?, ?, ?, ? FROM apps WHERE name = ?
			ON CONFLICT (app_id, process) DO UPDATE SET memory = excluded.memory, cpu = excluded.cpu, pids = excluded.pids`,
			process, l.Memory, l.CPU, l.PIDs, app)
		if err == nil {
			n, _ = res.RowsAffected()
		}
	}
	if err != nil {
		return fmt.Errorf("set limits: %w", err)
	}
	if n == 0 {
		return appNotFound(app)
	}
	return tx.Commit()
}
