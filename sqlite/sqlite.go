package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver

	"github.com/slipway/slipway"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// dsnParams are applied by the driver to every connection it opens, so
// each pooled connection has WAL, foreign keys and the busy timeout, and
// every transaction takes the write lock up front (BEGIN IMMEDIATE) instead
// of failing with SQLITE_BUSY when it first writes.
const dsnParams = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=5000&_synchronous=NORMAL&_txlock=immediate"

// timeFormat is RFC 3339 with a fixed-width fraction, so that stored times
// sort as text; time.RFC3339Nano parses it.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

var _ slipway.ReleaseStore = (*DB)(nil)

// DB is slipway's SQLite database: the release history. It is safe for
// concurrent use.
type DB struct {
	// Now returns the current time; it sets the times the store records.
	// If nil, time.Now is used. Times are stored in UTC.
	Now func() time.Time

	path string
	db   *sql.DB

	// writeSem serialises this process's write transactions, so that they
	// queue in Go, where a cancelled context can stop the wait, rather than
	// in SQLite's busy handler. Other processes are kept out by the
	// database lock and the busy timeout.
	writeSem chan struct{}
}

// NewDB returns a DB for the database file at path. Call Open before use.
func NewDB(path string) *DB {
	return &DB{
		Now:      time.Now,
		path:     path,
		writeSem: make(chan struct{}, 1),
	}
}

// Open opens the database, creating the file and its directory if missing,
// and applies the migrations it has not applied yet.
func (db *DB) Open() error {
	if db.path == "" {
		return errors.New("open database: path required")
	}
	if err := os.MkdirAll(filepath.Dir(db.path), 0o700); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	// A file: URI, so that a path with '?', '#' or '%' in it stays a path.
	dsn := "file:" + (&url.URL{Path: db.path}).EscapedPath() + "?" + dsnParams
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return fmt.Errorf("open database %s: %w", db.path, err)
	}
	db.db = sdb
	if err := db.setup(); err != nil {
		sdb.Close()
		db.db = nil
		return fmt.Errorf("open database %s: %w", db.path, err)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	return db.db.Close()
}

// setup checks the connection and applies the migrations.
func (db *DB) setup() error {
	// journal_mode=WAL is silently ignored where WAL cannot work (some
	// network file systems); without it readers block the writer.
	var mode string
	if err := db.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	return db.migrate(context.Background())
}

// migrate applies the embedded migrations in lexical order, each in its own
// transaction with its name recorded in the migrations table, skipping those
// already recorded.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY) STRICT`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migration/*.sql") // sorted
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, file string) error {
	name := path.Base(file)
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	// Checked inside the transaction: another process may be migrating the
	// same file.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	buf, err := fs.ReadFile(migrationFS, file)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name) VALUES (?)`, name); err != nil {
		return err
	}
	return tx.Commit()
}

// writeTx is a write transaction: it holds the DB's write semaphore from
// begin until Commit or Rollback, and the time it began.
type writeTx struct {
	*sql.Tx
	now     time.Time
	release func()
	path    string // the database's, for a full disk's error
}

// ExecContext runs a statement of the transaction; a full disk is said
// as one (see diskFull).
func (tx *writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.Tx.ExecContext(ctx, query, args...)
	return res, diskFull(err, tx.path)
}

// diskFull returns err with the full disk under it (a *fs.PathError for
// path with syscall.ENOSPC) when SQLite says the database or disk is
// full, so that the edges can say which path is full; else err.
func diskFull(err error, path string) error {
	var se sqlite3.Error
	if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrFull {
		return err
	}
	return fmt.Errorf("%w (%w)", err, &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC})
}

// begin starts a write transaction. The DSN makes it BEGIN IMMEDIATE.
func (db *DB) begin(ctx context.Context) (*writeTx, error) {
	select {
	case db.writeSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := sync.OnceFunc(func() { <-db.writeSem })
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		release()
		return nil, err
	}
	return &writeTx{Tx: tx, now: db.now(), release: release, path: db.path}, nil
}

// Commit commits the transaction and lets the next writer in.
func (tx *writeTx) Commit() error {
	defer tx.release()
	return diskFull(tx.Tx.Commit(), tx.path)
}

// Rollback aborts the transaction, if it is still open, and lets the next
// writer in. It is meant to be deferred after begin.
func (tx *writeTx) Rollback() error {
	defer tx.release()
	return tx.Tx.Rollback()
}

// now returns the current time in UTC, without a monotonic reading.
func (db *DB) now() time.Time {
	if db.Now == nil {
		return time.Now().UTC()
	}
	return db.Now().UTC()
}

// formatTime returns t as stored: NULL for the zero time.
func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

// parseTime reads a time stored by formatTime.
func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s.String, err)
	}
	return t.UTC(), nil
}
