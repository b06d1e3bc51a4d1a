package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/slipway/slipway"
)

var _ slipway.SettingStore = (*DB)(nil)

// AppSetting returns the app's value of key, "" when unset; ENOTFOUND for
// an unknown app.
func (db *DB) AppSetting(ctx context.Context, app, key string) (string, error) {
	if err := db.checkApp(ctx, app); err != nil {
		return "", err
	}
	var v string
	err := db.db.QueryRowContext(ctx, `SELECT s.value FROM app_settings s JOIN apps a ON a.id = s.app_id WHERE a.name = ? AND s.key = ?`, app, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s of %s: %w", key, app, err)
	}
	return v, nil
}

// SetAppSetting sets the app's value of key; "" removes it.
func (db *DB) SetAppSetting(ctx context.Context, app, key, value string) error {
	if err := db.checkApp(ctx, app); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	defer tx.Rollback()
	if value == "" {
		_, err = tx.ExecContext(ctx, `DELETE FROM app_settings WHERE key = ? AND app_id = (SELECT id FROM apps WHERE name = ?)`, key, app)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO app_settings (app_id, key, value) SELECT id, ?, ? FROM apps WHERE name = ?
			ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value`, key, value, app)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	return nil
}

// AllAppSettings returns every app's value of key, by app.
func (db *DB) AllAppSettings(ctx context.Context, key string) (map[string]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT a.name, s.value FROM app_settings s JOIN apps a ON a.id = s.app_id WHERE s.key = ?`, key)
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", key, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var app, v string
		if err := rows.Scan(&app, &v); err != nil {
			return nil, fmt.Errorf("read setting %s: %w", key, err)
		}
		out[app] = v
	}
	return out, rows.Err()
}
