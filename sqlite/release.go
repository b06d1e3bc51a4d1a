package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// CreateRelease records r as the app's next release, creating the app on
// its first release, and sets r.Version and r.CreatedAt. The version is one
// more than the app's highest, failed releases included, so versions are
// never reused while the app exists.
func (db *DB) CreateRelease(ctx context.Context, r *slipway.Release) error {
	if err := slipway.ValidateAppName(r.App); err != nil {
		return err
	}
	if err := validateKind(r.Kind); err != nil {
		return err
	}
	if err := validateStatus(r.Status); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("create release: %w", err)
	}
	defer tx.Rollback()

	v, err := createRelease(ctx, tx, r)
	if err != nil {
		return fmt.Errorf("create release: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create release: %w", err)
	}
	r.Version, r.CreatedAt = v, tx.now
	return nil
}

// UpdateRelease applies u to the app's release v in one transaction and
// returns the release as it now is, or ENOTFOUND.
func (db *DB) UpdateRelease(ctx context.Context, app string, v slipway.Version, u slipway.ReleaseUpdate) (*slipway.Release, error) {
	if u.Status != nil {
		if err := validateStatus(*u.Status); err != nil {
			return nil, err
		}
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("update release: %w", err)
	}
	defer tx.Rollback()

	if err := updateRelease(ctx, tx, app, v, u); err != nil {
		return nil, err
	}
	r, err := scanRelease(tx.QueryRowContext(ctx, `SELECT `+releaseColumns+`
		FROM releases r JOIN apps a ON a.id = r.app_id
		WHERE a.name = ? AND r.version = ?`, app, v))
	if err != nil {
		return nil, fmt.Errorf("update release: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update release: %w", err)
	}
	return r, nil
}

// FindRelease returns the app's release v, or ENOTFOUND.
func (db *DB) FindRelease(ctx context.Context, app string, v slipway.Version) (*slipway.Release, error) {
	row := db.db.QueryRowContext(ctx, `SELECT `+releaseColumns+`
		FROM releases r JOIN apps a ON a.id = r.app_id
		WHERE a.name = ? AND r.version = ?`, app, v)
	r, err := scanRelease(row)
	if errors.Is(err, sql.ErrNoRows) {
		if err := db.checkApp(ctx, app); err != nil {
			return nil, err
		}
		return nil, releaseNotFound(app, v)
	} else if err != nil {
		return nil, fmt.Errorf("find release %s %s: %w", app, v, err)
	}
	return r, nil
}

// ListReleases returns the app's releases, newest first, or ENOTFOUND for
// an unknown app.
func (db *DB) ListReleases(ctx context.Context, app string) ([]*slipway.Release, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+releaseColumns+`
		FROM releases r JOIN apps a ON a.id = r.app_id
		WHERE a.name = ?
		ORDER BY r.version DESC`, app)
	if err != nil {
		return nil, fmt.Errorf("list releases of %s: %w", app, err)
	}
	defer rows.Close()

	var rs []*slipway.Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("list releases of %s: %w", app, err)
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list releases of %s: %w", app, err)
	}
	if len(rs) == 0 { // an app made with apps:create has no release yet
		if err := db.checkApp(ctx, app); err != nil {
			return nil, err
		}
		return []*slipway.Release{}, nil
	}
	return rs, nil
}

// ListApps returns every app's name, sorted.
func (db *DB) ListApps(ctx context.Context) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT name FROM apps ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	defer rows.Close()

	names := []string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list apps: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	return names, nil
}

// CreateApp records an app with no release yet, or returns ECONFLICT.
func (db *DB) CreateApp(ctx context.Context, app string) error {
	if err := slipway.ValidateAppName(app); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("create app %s: %w", app, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO apps (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, app, formatTime(tx.now))
	if err != nil {
		return fmt.Errorf("create app %s: %w", app, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return slipway.Errorf(slipway.ECONFLICT, "an app named %q exists already", app)
	}
	return tx.Commit()
}

// DeleteApp removes the app with its releases and instances, or returns
// ENOTFOUND. An app pushed again under the same name starts again at v1.
func (db *DB) DeleteApp(ctx context.Context, app string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("delete app %s: %w", app, err)
	}
	defer tx.Rollback()

	res, err := tx.ExecContext(ctx, `DELETE FROM apps WHERE name = ?`, app)
	if err != nil {
		return fmt.Errorf("delete app %s: %w", app, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete app %s: %w", app, err)
	} else if n == 0 {
		return appNotFound(app)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete app %s: %w", app, err)
	}
	return nil
}

// createRelease inserts r, and its app if new, and returns its version.
func createRelease(ctx context.Context, tx *writeTx, r *slipway.Release) (slipway.Version, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO apps (name, created_at) VALUES (?, ?)
		ON CONFLICT (name) DO NOTHING`, r.App, formatTime(tx.now)); err != nil {
		return 0, err
	}
	var appID int64
	var v slipway.Version
	if err := tx.QueryRowContext(ctx, `SELECT a.id, COALESCE(MAX(r.version), 0) + 1
		FROM apps a LEFT JOIN releases r ON r.app_id = a.id
		WHERE a.name = ?
		GROUP BY a.id`, r.App).Scan(&appID, &v); err != nil {
		return 0, err
	}
	config, err := marshalConfig(r.Config)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO releases (
			app_id, version, kind, status,
			commit_sha, subject, author, pusher_fingerprint, pusher_comment,
			created_at, started_at, finished_at, build_duration_ns, failure, note,
			rollback_of, config, dir, pruned, log_path, spec
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		appID, v, r.Kind, r.Status,
		r.Commit, r.Subject, r.Author, r.PusherFingerprint, r.PusherComment,
		formatTime(tx.now), formatTime(r.StartedAt), formatTime(r.FinishedAt), int64(r.BuildDuration), r.Failure, r.Note,
		r.RollbackOf, config, r.Dir, r.Pruned, r.LogPath, blob(r.Spec),
	); err != nil {
		return 0, err
	}
	return v, nil
}

// updateRelease sets the fields of u that are not nil. Errors other than
// ENOTFOUND are wrapped.
func updateRelease(ctx context.Context, tx *writeTx, app string, v slipway.Version, u slipway.ReleaseUpdate) error {
	var set []string
	var args []any
	add := func(col string, val any) {
		set = append(set, col+" = ?")
		args = append(args, val)
	}
	if u.Status != nil {
		add("status", *u.Status)
	}
	if u.StartedAt != nil {
		add("started_at", formatTime(*u.StartedAt))
	}
	if u.FinishedAt != nil {
		add("finished_at", formatTime(*u.FinishedAt))
	}
	if u.BuildDuration != nil {
		add("build_duration_ns", int64(*u.BuildDuration))
	}
	if u.Failure != nil {
		add("failure", *u.Failure)
	}
	if u.Note != nil {
		add("note", *u.Note)
	}
	if u.SleepingSince != nil {
		add("sleeping_since", formatTime(*u.SleepingSince))
	}
	if u.Config != nil {
		config, err := marshalConfig(*u.Config)
		if err != nil {
			return fmt.Errorf("update release: %w", err)
		}
		add("config", config)
	}
	if u.Dir != nil {
		add("dir", *u.Dir)
	}
	if u.Pruned != nil {
		add("pruned", *u.Pruned)
	}
	if u.LogPath != nil {
		add("log_path", *u.LogPath)
	}
	if u.Spec != nil {
		add("spec", blob(*u.Spec))
	}
	if len(set) == 0 { // nothing to change: only check that it exists
		set = append(set, "version = version")
	}
	res, err := tx.ExecContext(ctx, `UPDATE releases SET `+strings.Join(set, ", ")+`
		WHERE app_id = (SELECT id FROM apps WHERE name = ?) AND version = ?`,
		append(args, app, v)...)
	if err != nil {
		return fmt.Errorf("update release: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update release: %w", err)
	} else if n == 0 {
		return releaseNotFound(app, v)
	}
	return nil
}

// releaseColumns are the columns scanRelease reads, from releases r joined
// with apps a.
const releaseColumns = `a.name, r.version, r.kind, r.status,
	r.commit_sha, r.subject, r.author, r.pusher_fingerprint, r.pusher_comment,
	r.created_at, r.started_at, r.finished_at, r.build_duration_ns, r.failure, r.note,
	r.rollback_of, r.config, r.dir, r.pruned, r.log_path, r.spec, r.sleeping_since`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanRelease reads one row of releaseColumns. Config is never nil.
func scanRelease(s scanner) (*slipway.Release, error) {
	var (
		r                          slipway.Release
		created, started, finished sql.NullString
		sleeping                   sql.NullString
		config                     string
		buildDuration              int64
	)
	if err := s.Scan(&r.App, &r.Version, &r.Kind, &r.Status,
		&r.Commit, &r.Subject, &r.Author, &r.PusherFingerprint, &r.PusherComment,
		&created, &started, &finished, &buildDuration, &r.Failure, &r.Note,
		&r.RollbackOf, &config, &r.Dir, &r.Pruned, &r.LogPath, &r.Spec, &sleeping,
	); err != nil {
		return nil, err
	}
	var err error
	if r.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if r.StartedAt, err = parseTime(started); err != nil {
		return nil, err
	}
	if r.FinishedAt, err = parseTime(finished); err != nil {
		return nil, err
	}
	if r.SleepingSince, err = parseTime(sleeping); err != nil {
		return nil, err
	}
	r.BuildDuration = time.Duration(buildDuration)
	if err := json.Unmarshal([]byte(config), &r.Config); err != nil {
		return nil, fmt.Errorf("release %s %s: config: %w", r.App, r.Version, err)
	}
	if r.Config == nil { // a stored "null"
		r.Config = map[string]string{}
	}
	if len(r.Spec) == 0 {
		r.Spec = nil
	}
	return &r, nil
}

// checkApp returns ENOTFOUND if there is no app named app.
func (db *DB) checkApp(ctx context.Context, app string) error {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM apps WHERE name = ?`, app).Scan(&n); err != nil {
		return fmt.Errorf("find app %s: %w", app, err)
	}
	if n == 0 {
		return appNotFound(app)
	}
	return nil
}

func appNotFound(app string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "no app named %q", app)
}

func releaseNotFound(app string, v slipway.Version) error {
	return slipway.Errorf(slipway.ENOTFOUND, "app %q has no release %s", app, v)
}

func validateKind(kind slipway.ReleaseKind) error {
	switch kind {
	case slipway.KindPush, slipway.KindRollback, slipway.KindConfig:
		return nil
	}
	return slipway.Errorf(slipway.EINVALID, "invalid release kind %q: want push, rollback or config", kind)
}

func validateStatus(status slipway.ReleaseStatus) error {
	switch status {
	case slipway.StatusBuilding, slipway.StatusFailed, slipway.StatusLive, slipway.StatusDraining, slipway.StatusRetired:
		return nil
	}
	return slipway.Errorf(slipway.EINVALID, "invalid release status %q: want building, failed, live, draining or retired", status)
}

// marshalConfig returns the JSON stored for a config; nil is "{}".
func marshalConfig(config map[string]string) (string, error) {
	if len(config) == 0 {
		return "{}", nil
	}
	buf, err := json.Marshal(config)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return string(buf), nil
}

// blob returns the value stored for a spec: NULL when empty.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// RenameApp gives app old the name new, with everything the history keeps
// of it (releases, instances, config, scale, domains, settings, events,
// identity), in one transaction; moved returns the change of each release
// the new name makes (its directories and spec name the app). ECONFLICT
// when an app named new exists, ENOTFOUND when old does not.
func (db *DB) RenameApp(ctx context.Context, old, new string, moved func(*slipway.Release) slipway.ReleaseUpdate) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("rename %s: %w", old, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM apps WHERE name = ?`, new).Scan(&n); err != nil {
		return fmt.Errorf("rename %s: %w", old, err)
	}
	if n > 0 {
		return slipway.Errorf(slipway.ECONFLICT, "an app named %s exists already: pick another name", new)
	}
	res, err := tx.ExecContext(ctx, `UPDATE apps SET name = ? WHERE name = ?`, new, old)
	if err != nil {
		return fmt.Errorf("rename %s: %w", old, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("rename %s: %w", old, err)
	} else if n == 0 {
		return appNotFound(old)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE identities SET app = ? WHERE uid = (SELECT i.uid FROM app_identity i JOIN apps a ON a.id = i.app_id WHERE a.name = ?)`, new, new); err != nil {
		return fmt.Errorf("rename %s: %w", old, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+releaseColumns+`
		FROM releases r JOIN apps a ON a.id = r.app_id WHERE a.name = ?`, new)
	if err != nil {
		return fmt.Errorf("rename %s: %w", old, err)
	}
	var rels []*slipway.Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("rename %s: %w", old, err)
		}
		rels = append(rels, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rename %s: %w", old, err)
	}
	for _, r := range rels {
		if err := updateRelease(ctx, tx, new, r.Version, moved(r)); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rename %s: %w", old, err)
	}
	return nil
}
