package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/slipway/slipway"
)

var _ slipway.ConfigStore = (*DB)(nil)

// AppConfig returns the app's config vars.
func (db *DB) AppConfig(ctx context.Context, app string) (map[string]string, error) {
	if err := db.checkApp(ctx, app); err != nil {
		return nil, err
	}
	return appConfig(ctx, db.db, app)
}

// SetAppConfig sets and unsets keys of the app's config in one transaction
// and returns the result.
func (db *DB) SetAppConfig(ctx context.Context, app string, set map[string]string, unset []string) (map[string]string, error) {
	for k, v := range set {
		if err := slipway.ValidateConfigKey(k); err != nil {
			return nil, err
		}
		if err := slipway.ValidateConfigValue(k, v); err != nil {
			return nil, err
		}
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	defer tx.Rollback()
	var appID int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM apps WHERE name = ?`, app).Scan(&appID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appNotFound(app)
	}
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	for k, v := range set {
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_config (app_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value`, appID, k, v); err != nil {
			return nil, fmt.Errorf("set config: %w", err)
		}
	}
	for _, k := range unset {
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_config WHERE app_id = ? AND key = ?`, appID, k); err != nil {
			return nil, fmt.Errorf("unset config: %w", err)
		}
	}
	cfg, err := appConfig(ctx, tx, app)
	if err != nil {
		return nil, err
	}
	return cfg, tx.Commit()
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func appConfig(ctx context.Context, q queryer, app string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.key, c.value FROM app_config c JOIN apps a ON a.id = c.app_id WHERE a.name = ?`, app)
	if err != nil {
		return nil, fmt.Errorf("read config of %s: %w", app, err)
	}
	defer rows.Close()
	cfg := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read config of %s: %w", app, err)
		}
		cfg[k] = v
	}
	return cfg, rows.Err()
}
