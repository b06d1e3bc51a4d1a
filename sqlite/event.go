package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/slipway/slipway"
)

var _ slipway.EventStore = (*DB)(nil)

// maxEventsPerApp is how many events an app keeps; older ones are dropped
// as new ones come, so a script scaling every minute cannot fill the disk
// (a variable for the tests).
var maxEventsPerApp = 1000

// AddEvent records e as the app's newest event and sets e.At.
func (db *DB) AddEvent(ctx context.Context, e *slipway.Event) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("record %s of %s: %w", e.Kind, e.App, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO events (app_id, at, kind, by, detail)
		SELECT id, ?, ?, ?, ? FROM apps WHERE name = ?`, formatTime(tx.now), e.Kind, e.By, e.Detail, e.App)
	if err != nil {
		return fmt.Errorf("record %s of %s: %w", e.Kind, e.App, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("record %s of %s: %w", e.Kind, e.App, err)
	} else if n == 0 {
		return appNotFound(e.App)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE app_id = (SELECT id FROM apps WHERE name = ?)
		AND id <= (SELECT id FROM events WHERE app_id = (SELECT id FROM apps WHERE name = ?) ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		e.App, e.App, maxEventsPerApp); err != nil {
		return fmt.Errorf("record %s of %s: %w", e.Kind, e.App, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record %s of %s: %w", e.Kind, e.App, err)
	}
	e.At = tx.now
	return nil
}

// ListEvents returns the app's newest events, newest first.
func (db *DB) ListEvents(ctx context.Context, app string, limit int) ([]slipway.Event, error) {
	if err := db.checkApp(ctx, app); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT e.at, e.kind, e.by, e.detail FROM events e JOIN apps a ON a.id = e.app_id
		WHERE a.name = ? ORDER BY e.id DESC LIMIT ?`, app, limit)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", app, err)
	}
	defer rows.Close()
	var out []slipway.Event
	for rows.Next() {
		e := slipway.Event{App: app}
		var at sql.NullString
		if err := rows.Scan(&at, &e.Kind, &e.By, &e.Detail); err != nil {
			return nil, fmt.Errorf("read events of %s: %w", app, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("read events of %s: %w", app, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
