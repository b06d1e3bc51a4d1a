package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/slipway/slipway"
)

// SetInstances replaces the recorded instances of the app's release v with
// ins; nil or empty deletes them. The Release field of each record is
// ignored: they all belong to v. It returns ENOTFOUND if there is no such
// release and EINVALID if an instance ID is empty or repeated.
func (db *DB) SetInstances(ctx context.Context, app string, v slipway.Version, ins []slipway.InstanceRecord) error {
	seen := make(map[string]bool, len(ins))
	for _, in := range ins {
		if in.ID == "" {
			return slipway.Errorf(slipway.EINVALID, "instance of %s %s has no id", app, v)
		}
		if seen[in.ID] {
			return slipway.Errorf(slipway.EINVALID, "instance %s of %s %s is listed twice", in.ID, app, v)
		}
		seen[in.ID] = true
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("set instances of %s %s: %w", app, v, err)
	}
	defer tx.Rollback()

	if err := setInstances(ctx, tx, app, v, ins); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set instances of %s %s: %w", app, v, err)
	}
	return nil
}

// ListInstances returns the recorded instances of the app, newest release
// first and by instance ID within a release, or ENOTFOUND for an unknown
// app.
func (db *DB) ListInstances(ctx context.Context, app string) ([]slipway.InstanceRecord, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT r.version, i.id, i.pid, i.port, i.state, i.started_at, i.start_ticks, i.cgroup, i.tmp_dir, i.log_offset
		FROM instances i
		JOIN releases r ON r.id = i.release_id
		JOIN apps a ON a.id = r.app_id
		WHERE a.name = ?
		ORDER BY r.version DESC, i.id`, app)
	if err != nil {
		return nil, fmt.Errorf("list instances of %s: %w", app, err)
	}
	defer rows.Close()

	ins := []slipway.InstanceRecord{}
	for rows.Next() {
		var (
			in      slipway.InstanceRecord
			started sql.NullString
		)
		if err := rows.Scan(&in.Release, &in.ID, &in.PID, &in.Port, &in.State, &started, &in.StartTicks, &in.Cgroup, &in.TmpDir, &in.LogOffset); err != nil {
			return nil, fmt.Errorf("list instances of %s: %w", app, err)
		}
		if in.StartedAt, err = parseTime(started); err != nil {
			return nil, fmt.Errorf("list instances of %s: %w", app, err)
		}
		ins = append(ins, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list instances of %s: %w", app, err)
	}
	if len(ins) == 0 {
		if err := db.checkApp(ctx, app); err != nil {
			return nil, err
		}
	}
	return ins, nil
}

// setInstances replaces the release's instances. Errors other than
// ENOTFOUND are wrapped.
func setInstances(ctx context.Context, tx *writeTx, app string, v slipway.Version, ins []slipway.InstanceRecord) error {
	var releaseID int64
	err := tx.QueryRowContext(ctx, `SELECT r.id
		FROM releases r JOIN apps a ON a.id = r.app_id
		WHERE a.name = ? AND r.version = ?`, app, v).Scan(&releaseID)
	if errors.Is(err, sql.ErrNoRows) {
		return releaseNotFound(app, v)
	} else if err != nil {
		return fmt.Errorf("set instances of %s %s: %w", app, v, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE release_id = ?`, releaseID); err != nil {
		return fmt.Errorf("set instances of %s %s: %w", app, v, err)
	}
	for _, in := range ins {
		if _, err := tx.ExecContext(ctx, `INSERT INTO instances (release_id, id, pid, port, state, started_at, start_ticks, cgroup, tmp_dir, log_offset)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			releaseID, in.ID, in.PID, in.Port, in.State, formatTime(in.StartedAt), int64(in.StartTicks), in.Cgroup, in.TmpDir, in.LogOffset); err != nil {
			return fmt.Errorf("set instances of %s %s: %w", app, v, err)
		}
	}
	return nil
}
