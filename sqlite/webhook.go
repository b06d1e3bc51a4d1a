package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/slipway/slipway"
)

var _ slipway.WebhookStore = (*DB)(nil)

// AddWebhook records h as one of its app's webhooks and sets its ID and
// Created.
func (db *DB) AddWebhook(ctx context.Context, h *slipway.Webhook) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("add a webhook to %s: %w", h.App, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO webhooks (app_id, url, events, secret, created_at)
		SELECT id, ?, ?, ?, ? FROM apps WHERE name = ?`, h.URL, strings.Join(h.Events, ","), h.Secret, formatTime(tx.now), h.App)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique {
		return slipway.Errorf(slipway.ECONFLICT, "%s has a webhook to %s already: webhooks:remove %s URL first to change it", h.App, slipway.RedactURL(h.URL), h.App)
	}
	if err != nil {
		return fmt.Errorf("add a webhook to %s: %w", h.App, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("add a webhook to %s: %w", h.App, err)
	} else if n == 0 {
		return appNotFound(h.App)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("add a webhook to %s: %w", h.App, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add a webhook to %s: %w", h.App, err)
	}
	h.ID, h.Created = id, tx.now
	return nil
}

// ListWebhooks returns the app's webhooks, oldest first, each with its
// secret and newest deliveries.
func (db *DB) ListWebhooks(ctx context.Context, app string) ([]slipway.Webhook, error) {
	if err := db.checkApp(ctx, app); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT w.id, w.url, w.events, w.secret, w.created_at
		FROM webhooks w JOIN apps a ON a.id = w.app_id WHERE a.name = ? ORDER BY w.id`, app)
	if err != nil {
		return nil, fmt.Errorf("read webhooks of %s: %w", app, err)
	}
	defer rows.Close()
	var out []slipway.Webhook
	for rows.Next() {
		h := slipway.Webhook{App: app}
		var events string
		var created sql.NullString
		if err := rows.Scan(&h.ID, &h.URL, &events, &h.Secret, &created); err != nil {
			return nil, fmt.Errorf("read webhooks of %s: %w", app, err)
		}
		if events != "" {
			h.Events = strings.Split(events, ",")
		}
		if h.Created, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("read webhooks of %s: %w", app, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read webhooks of %s: %w", app, err)
	}
	rows.Close()
	for i := range out {
		if out[i].Deliveries, err = db.webhookDeliveries(ctx, out[i].ID); err != nil {
			return nil, fmt.Errorf("read webhooks of %s: %w", app, err)
		}
	}
	return out, nil
}

// webhookDeliveries returns webhook id's deliveries, newest first.
func (db *DB) webhookDeliveries(ctx context.Context, id int64) ([]slipway.WebhookDelivery, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT delivery, at, event, release, status_code, error, attempts, duration_ns
		FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?`, id, slipway.MaxWebhookDeliveries)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []slipway.WebhookDelivery
	for rows.Next() {
		var d slipway.WebhookDelivery
		var at sql.NullString
		var took int64
		if err := rows.Scan(&d.ID, &at, &d.Event, &d.Release, &d.StatusCode, &d.Error, &d.Attempts, &took); err != nil {
			return nil, err
		}
		if d.At, err = parseTime(at); err != nil {
			return nil, err
		}
		d.Duration = time.Duration(took)
		out = append(out, d)
	}
	return out, rows.Err()
}

// RemoveWebhook removes the app's webhook to url, with its deliveries.
func (db *DB) RemoveWebhook(ctx context.Context, app, url string) error {
	if err := db.checkApp(ctx, app); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("remove a webhook of %s: %w", app, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE url = ? AND app_id = (SELECT id FROM apps WHERE name = ?)`, url, app)
	if err != nil {
		return fmt.Errorf("remove a webhook of %s: %w", app, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("remove a webhook of %s: %w", app, err)
	} else if n == 0 {
		return slipway.Errorf(slipway.ENOTFOUND, "%s has no webhook to %s: webhooks %s lists them", app, slipway.RedactURL(url), app)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove a webhook of %s: %w", app, err)
	}
	return nil
}

// AddWebhookDelivery records d as webhook id's newest delivery and drops
// those beyond the newest MaxWebhookDeliveries.
func (db *DB) AddWebhookDelivery(ctx context.Context, id int64, d slipway.WebhookDelivery) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("record a webhook delivery: %w", err)
	}
	defer tx.Rollback()
	if d.At.IsZero() {
		d.At = tx.now
	}
	// Through a SELECT: a webhook removed meanwhile inserts nothing.
	res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, delivery, at, event, release, status_code, error, attempts, duration_ns)
		SELECT id, ?, ?, ?, ?, ?, ?, ?, ? FROM webhooks WHERE id = ?`,
		d.ID, formatTime(d.At), d.Event, d.Release, d.StatusCode, d.Error, d.Attempts, int64(d.Duration), id)
	if err != nil {
		return fmt.Errorf("record a webhook delivery: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = ?
		AND id <= (SELECT id FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		id, id, slipway.MaxWebhookDeliveries); err != nil {
		return fmt.Errorf("record a webhook delivery: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record a webhook delivery: %w", err)
	}
	return nil
}
