package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slipway/slipway"
)

var _ slipway.ServiceStore = (*DB)(nil)

// CreateService records s, allocating its uid from uids, the apps' range,
// when uids.Count > 0 (identities keeps it as "service:NAME", so that no
// app or service is given it again), and sets s.UID and s.CreatedAt.
// ECONFLICT when a service has the name or the port already; EINVALID for
// a bad name, kind, port or password, or when uids has no uid left.
func (db *DB) CreateService(ctx context.Context, s *slipway.BackingService, uids slipway.UIDRange) error {
	if err := validateService(s); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("create service %s: %w", s.Name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM services WHERE name = ?`, s.Name).Scan(&n); err != nil {
		return fmt.Errorf("create service %s: %w", s.Name, err)
	}
	if n > 0 {
		return slipway.Errorf(slipway.ECONFLICT, "service %q exists already", s.Name)
	}
	var other string
	err = tx.QueryRowContext(ctx, `SELECT name FROM services WHERE port = ?`, s.Port).Scan(&other)
	if err == nil {
		return slipway.Errorf(slipway.ECONFLICT, "port %d is service %q's already: pick another", s.Port, other)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("create service %s: %w", s.Name, err)
	}
	uid := 0
	if uids.Count > 0 {
		if uid, err = allocUID(ctx, tx, "service:"+s.Name, "service "+s.Name, uids); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO services (
			name, kind, version, uid, port, password, stopped, backup_schedule, backup_keep, created_at,
			pid, start_ticks, cgroup, tmp_dir, log_offset
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Name, s.Kind, s.Version, nullUID(uid), s.Port, s.Password, s.Stopped, s.BackupSchedule, s.BackupKeep, formatTime(tx.now),
		s.Running.PID, int64(s.Running.StartTicks), s.Running.Cgroup, s.Running.TmpDir, s.Running.LogOffset,
	); err != nil {
		return fmt.Errorf("create service %s: %w", s.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create service %s: %w", s.Name, err)
	}
	s.UID, s.CreatedAt = uid, tx.now
	return nil
}

// FindService returns the service named name, or ENOTFOUND.
func (db *DB) FindService(ctx context.Context, name string) (*slipway.BackingService, error) {
	s, err := scanService(db.db.QueryRowContext(ctx, `SELECT `+serviceColumns+` FROM services WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, serviceNotFound(name)
	} else if err != nil {
		return nil, fmt.Errorf("find service %s: %w", name, err)
	}
	return s, nil
}

// ListServices returns every service, sorted by name.
func (db *DB) ListServices(ctx context.Context) ([]*slipway.BackingService, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+serviceColumns+` FROM services ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	defer rows.Close()
	out := []*slipway.BackingService{}
	for rows.Next() {
		s, err := scanService(rows)
		if err != nil {
			return nil, fmt.Errorf("list services: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return out, nil
}

// UpdateService sets the fields of u that are not nil in one transaction
// and returns the service as it now is; ENOTFOUND when there is none.
func (db *DB) UpdateService(ctx context.Context, name string, u slipway.ServiceUpdate) (*slipway.BackingService, error) {
	if u.BackupKeep != nil && *u.BackupKeep < 0 {
		return nil, slipway.Errorf(slipway.EINVALID, "keep %d backups of %q: want 0 or more", *u.BackupKeep, name)
	}
	var set []string
	var args []any
	add := func(col string, val any) {
		set = append(set, col+" = ?")
		args = append(args, val)
	}
	if u.Stopped != nil {
		add("stopped", *u.Stopped)
	}
	if u.BackupSchedule != nil {
		add("backup_schedule", *u.BackupSchedule)
	}
	if u.BackupKeep != nil {
		add("backup_keep", *u.BackupKeep)
	}
	if l := u.Limits; l != nil {
		add("memory", l.Memory)
		add("cpu", l.CPU)
		add("pids", l.PIDs)
	}
	if p := u.Running; p != nil {
		add("pid", p.PID)
		add("start_ticks", int64(p.StartTicks))
		add("cgroup", p.Cgroup)
		add("tmp_dir", p.TmpDir)
		add("log_offset", p.LogOffset)
	}
	if len(set) == 0 { // nothing to change: only check that it exists
		set = append(set, "name = name")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("update service %s: %w", name, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE services SET `+strings.Join(set, ", ")+` WHERE name = ?`, append(args, name)...)
	if err != nil {
		return nil, fmt.Errorf("update service %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("update service %s: %w", name, err)
	} else if n == 0 {
		return nil, serviceNotFound(name)
	}
	s, err := scanService(tx.QueryRowContext(ctx, `SELECT `+serviceColumns+` FROM services WHERE name = ?`, name))
	if err != nil {
		return nil, fmt.Errorf("update service %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update service %s: %w", name, err)
	}
	return s, nil
}

// DeleteService removes the service; ENOTFOUND when there is none,
// ECONFLICT, naming the apps, while any is linked to it. Its uid stays in
// identities: it is never given again.
func (db *DB) DeleteService(ctx context.Context, name string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("delete service %s: %w", name, err)
	}
	defer tx.Rollback()
	id, kind, err := findServiceID(ctx, tx, name)
	if err != nil {
		return err
	}
	var apps []string
	rows, err := tx.QueryContext(ctx, `SELECT a.name FROM service_links l JOIN apps a ON a.id = l.app_id WHERE l.service_id = ? ORDER BY a.name`, id)
	if err != nil {
		return fmt.Errorf("delete service %s: %w", name, err)
	}
	for rows.Next() {
		var app string
		if err := rows.Scan(&app); err != nil {
			rows.Close()
			return fmt.Errorf("delete service %s: %w", name, err)
		}
		apps = append(apps, app)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("delete service %s: %w", name, err)
	}
	if len(apps) > 0 {
		them := "them"
		if len(apps) == 1 {
			them = "it"
		}
		return slipway.Errorf(slipway.ECONFLICT, "%q is still linked to %s: unlink %s first (%s:unlink %s APP)", name, strings.Join(apps, ", "), them, kind, name)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete service %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete service %s: %w", name, err)
	}
	return nil
}

// AddServiceLink records that l.App is linked to l.Service through config
// var l.Var. ENOTFOUND for an unknown service or app; ECONFLICT when the
// app is linked to the service already, or another service's link sets
// the same var on the app.
func (db *DB) AddServiceLink(ctx context.Context, l slipway.ServiceLink) error {
	if err := slipway.ValidateConfigKey(l.Var); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("link %s to %s: %w", l.App, l.Service, err)
	}
	defer tx.Rollback()
	sid, _, err := findServiceID(ctx, tx, l.Service)
	if err != nil {
		return err
	}
	aid, err := findAppID(ctx, tx, l.App)
	if err != nil {
		return err
	}
	var other string
	var kind slipway.ServiceKind
	var v string
	err = tx.QueryRowContext(ctx, `SELECT s.name, s.kind, l.var FROM service_links l JOIN services s ON s.id = l.service_id
		WHERE l.app_id = ? AND (l.service_id = ? OR l.var = ?)
		ORDER BY l.service_id = ? DESC LIMIT 1`, aid, sid, l.Var, sid).Scan(&other, &kind, &v)
	switch {
	case err == nil && other == l.Service:
		return slipway.Errorf(slipway.ECONFLICT, "%s is linked to %q already (as %s)", l.App, l.Service, v)
	case err == nil:
		return slipway.Errorf(slipway.ECONFLICT, "%s's %s is set by its link to %q: unlink it first (%s:unlink %s %s)", l.App, l.Var, other, kind, other, l.App)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("link %s to %s: %w", l.App, l.Service, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO service_links (service_id, app_id, var) VALUES (?, ?, ?)`, sid, aid, l.Var); err != nil {
		return fmt.Errorf("link %s to %s: %w", l.App, l.Service, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("link %s to %s: %w", l.App, l.Service, err)
	}
	return nil
}

// RemoveServiceLink removes the app's link to the service; ENOTFOUND for
// an unknown service or app, or when the app is not linked to it.
func (db *DB) RemoveServiceLink(ctx context.Context, service, app string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("unlink %s from %s: %w", app, service, err)
	}
	defer tx.Rollback()
	sid, _, err := findServiceID(ctx, tx, service)
	if err != nil {
		return err
	}
	aid, err := findAppID(ctx, tx, app)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM service_links WHERE service_id = ? AND app_id = ?`, sid, aid)
	if err != nil {
		return fmt.Errorf("unlink %s from %s: %w", app, service, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("unlink %s from %s: %w", app, service, err)
	} else if n == 0 {
		return slipway.Errorf(slipway.ENOTFOUND, "%s is not linked to %q", app, service)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("unlink %s from %s: %w", app, service, err)
	}
	return nil
}

// ServiceLinks returns the service's links, sorted by app, or every
// service's, sorted by service then app, when service is ""; ENOTFOUND
// for an unknown service.
func (db *DB) ServiceLinks(ctx context.Context, service string) ([]slipway.ServiceLink, error) {
	links, err := db.serviceLinks(ctx, `? IN ('', s.name)`, service)
	if err != nil || len(links) > 0 || service == "" {
		return links, err
	}
	if _, err := db.FindService(ctx, service); err != nil {
		return nil, err
	}
	return links, nil
}

// AppServiceLinks returns the app's links, sorted by service; ENOTFOUND
// for an unknown app.
func (db *DB) AppServiceLinks(ctx context.Context, app string) ([]slipway.ServiceLink, error) {
	links, err := db.serviceLinks(ctx, `a.name = ?`, app)
	if err != nil || len(links) > 0 {
		return links, err
	}
	if err := db.checkApp(ctx, app); err != nil {
		return nil, err
	}
	return links, nil
}

// serviceLinks returns the links where holds, with arg for its one ?,
// sorted by service then app; never nil.
func (db *DB) serviceLinks(ctx context.Context, where string, arg string) ([]slipway.ServiceLink, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT s.name, a.name, l.var
		FROM service_links l
		JOIN services s ON s.id = l.service_id
		JOIN apps a ON a.id = l.app_id
		WHERE `+where+`
		ORDER BY s.name, a.name`, arg)
	if err != nil {
		return nil, fmt.Errorf("read service links: %w", err)
	}
	defer rows.Close()
	out := []slipway.ServiceLink{}
	for rows.Next() {
		var l slipway.ServiceLink
		if err := rows.Scan(&l.Service, &l.App, &l.Var); err != nil {
			return nil, fmt.Errorf("read service links: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read service links: %w", err)
	}
	return out, nil
}

// allocUID records the next free uid of uids in identities for owner (an
// app's name, or "service:NAME") and returns it; EINVALID, naming who,
// when uids has none left. Uids are never reused.
func allocUID(ctx context.Context, tx *writeTx, owner, who string, uids slipway.UIDRange) (int, error) {
	var next int
	if err := tx.QueryRowContext(ctx, `SELECT MAX(COALESCE((SELECT MAX(uid) FROM identities) + 1, ?), ?)`, uids.Base, uids.Base).Scan(&next); err != nil {
		return 0, fmt.Errorf("uid for %s: %w", who, err)
	}
	for uids.Free != nil && next <= uids.Last() && !uids.Free(next) {
		next++ // another user or process has it: never share it
	}
	if next > uids.Last() {
		return 0, slipway.Errorf(slipway.EINVALID, "no uid left for %s: this data dir's apps and services have had every uid of %d-%d (see --uid-base)", who, uids.Base, uids.Last())
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO identities (uid, app, created_at) VALUES (?, ?, ?)`, next, owner, formatTime(tx.now)); err != nil {
		return 0, fmt.Errorf("uid for %s: %w", who, err)
	}
	return next, nil
}

// nullUID returns the uid as stored: NULL for none.
func nullUID(uid int) any {
	if uid == 0 {
		return nil
	}
	return uid
}

// findServiceID returns the id and kind of the service named name, or
// ENOTFOUND.
func findServiceID(ctx context.Context, tx *writeTx, name string) (int64, slipway.ServiceKind, error) {
	var id int64
	var kind slipway.ServiceKind
	err := tx.QueryRowContext(ctx, `SELECT id, kind FROM services WHERE name = ?`, name).Scan(&id, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", serviceNotFound(name)
	} else if err != nil {
		return 0, "", fmt.Errorf("find service %s: %w", name, err)
	}
	return id, kind, nil
}

// findAppID returns the id of the app named app, or ENOTFOUND.
func findAppID(ctx context.Context, tx *writeTx, app string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM apps WHERE name = ?`, app).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, appNotFound(app)
	} else if err != nil {
		return 0, fmt.Errorf("find app %s: %w", app, err)
	}
	return id, nil
}

// serviceColumns are the columns scanService reads, from services.
const serviceColumns = `name, kind, version, uid, port, password, stopped, backup_schedule, backup_keep, created_at,
	pid, start_ticks, cgroup, tmp_dir, log_offset, memory, cpu, pids`

// scanService reads one row of serviceColumns.
func scanService(sc scanner) (*slipway.BackingService, error) {
	var (
		s       slipway.BackingService
		uid     sql.NullInt64
		created sql.NullString
	)
	if err := sc.Scan(&s.Name, &s.Kind, &s.Version, &uid, &s.Port, &s.Password, &s.Stopped, &s.BackupSchedule, &s.BackupKeep, &created,
		&s.Running.PID, &s.Running.StartTicks, &s.Running.Cgroup, &s.Running.TmpDir, &s.Running.LogOffset,
		&s.Limits.Memory, &s.Limits.CPU, &s.Limits.PIDs,
	); err != nil {
		return nil, err
	}
	s.UID = int(uid.Int64)
	var err error
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("service %s: %w", s.Name, err)
	}
	return &s, nil
}

func serviceNotFound(name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "no service named %q", name)
}

// validateService checks what a new service must have: EINVALID if not.
func validateService(s *slipway.BackingService) error {
	if err := slipway.ValidateServiceName(s.Name); err != nil {
		return err
	}
	switch {
	case !slices.Contains(slipway.ServiceKinds, s.Kind):
		return slipway.Errorf(slipway.EINVALID, "invalid service kind %q: want postgres or redis", s.Kind)
	case s.Port < 1 || s.Port > 65535:
		return slipway.Errorf(slipway.EINVALID, "invalid port %d for service %q: want 1-65535", s.Port, s.Name)
	case s.Password == "":
		return slipway.Errorf(slipway.EINVALID, "service %q has no password", s.Name)
	case s.BackupKeep < 0:
		return slipway.Errorf(slipway.EINVALID, "keep %d backups of %q: want 0 or more", s.BackupKeep, s.Name)
	}
	return nil
}
