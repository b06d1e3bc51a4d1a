package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway/slipway"
)

var _ slipway.DomainStore = (*DB)(nil)

// AppDomains returns the app's domains, sorted; ENOTFOUND for an unknown
// app.
func (db *DB) AppDomains(ctx context.Context, app string) ([]string, error) {
	if err := db.checkApp(ctx, app); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT d.name FROM domains d JOIN apps a ON a.id = d.app_id WHERE a.name = ? ORDER BY d.name`, app)
	if err != nil {
		return nil, fmt.Errorf("read domains of %s: %w", app, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("read domains of %s: %w", app, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// AddDomains gives the app the domains in one transaction: ECONFLICT,
// naming the owner, when another app has one of them.
func (db *DB) AddDomains(ctx context.Context, app string, domains []string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("add domains: %w", err)
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM apps WHERE name = ?`, app).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return appNotFound(app)
	} else if err != nil {
		return fmt.Errorf("add domains: %w", err)
	}
	for _, d := range domains {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT a.name FROM domains d JOIN apps a ON a.id = d.app_id WHERE d.name = ?`, d).Scan(&owner)
		switch {
		case err == nil && owner != app:
			return slipway.Errorf(slipway.ECONFLICT, "domain %s belongs to app %s: remove it there first (domains:remove %s %s)", d, owner, owner, d)
		case err == nil:
			continue // the app has it already
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("add domains: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO domains (name, app_id) VALUES (?, ?)`, d, id); err != nil {
			return fmt.Errorf("add domains: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add domains: %w", err)
	}
	return nil
}

// RemoveDomains takes the domains from the app in one transaction;
// ENOTFOUND, naming it, for a domain the app does not have.
func (db *DB) RemoveDomains(ctx context.Context, app string, domains []string) error {
	if err := db.checkApp(ctx, app); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("remove domains: %w", err)
	}
	defer tx.Rollback()
	for _, d := range domains {
		res, err := tx.ExecContext(ctx, `DELETE FROM domains WHERE name = ? AND app_id = (SELECT id FROM apps WHERE name = ?)`, d, app)
		if err != nil {
			return fmt.Errorf("remove domains: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return slipway.Errorf(slipway.ENOTFOUND, "%s has no domain %s (see: domains %s)", app, d, app)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove domains: %w", err)
	}
	return nil
}

// ClearDomains takes every domain from the app.
func (db *DB) ClearDomains(ctx context.Context, app string) error {
	if err := db.checkApp(ctx, app); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("clear domains: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM domains WHERE app_id = (SELECT id FROM apps WHERE name = ?)`, app); err != nil {
		return fmt.Errorf("clear domains: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("clear domains: %w", err)
	}
	return nil
}

// AllDomains returns every app's domains, by app.
func (db *DB) AllDomains(ctx context.Context) (map[string][]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT a.name, d.name FROM domains d JOIN apps a ON a.id = d.app_id ORDER BY a.name, d.name`)
	if err != nil {
		return nil, fmt.Errorf("read domains: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var app, d string
		if err := rows.Scan(&app, &d); err != nil {
			return nil, fmt.Errorf("read domains: %w", err)
		}
		out[app] = append(out[app], strings.ToLower(d))
	}
	return out, rows.Err()
}
