package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"
)

func TestDB_OpenAppliesMigrations(t *testing.T) {
	db := mustOpenDB(t, testPath(t))

	var name string
	if err := db.db.QueryRow(`SELECT name FROM migrations`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if got, want := name, "001_init.sql"; got != want {
		t.Errorf("migration = %q, want %q", got, want)
	}
	for _, table := range []string{"apps", "releases", "instances"} {
		if got, want := count(t, db, table), 0; got != want {
			t.Errorf("%s has %d rows, want %d", table, got, want)
		}
	}
}

func TestDB_ReopenAppliesNoMigrationTwiceAndKeepsData(t *testing.T) {
	path := testPath(t)
	db := NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "blog")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpenDB(t, path)
	files, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := count(t, db, "migrations"), len(files); got != want {
		t.Errorf("migrations recorded = %d, want %d", got, want)
	}
	if _, err := db.FindRelease(t.Context(), "blog", 1); err != nil {
		t.Errorf("FindRelease after reopen: %v", err)
	}
	if got, want := mustCreate(t, db, "blog").Version, 2; int(got) != want {
		t.Errorf("version after reopen = %d, want %d", got, want)
	}
}

func TestDB_OpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%20d.db")
	db := mustOpenDB(t, path)
	mustCreate(t, db, "blog")
	var file string
	if err := db.db.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	if file != path {
		t.Errorf("database file = %q, want %q", file, path)
	}
}

func TestDB_OpenRequiresPath(t *testing.T) {
	if err := NewDB("").Open(); err == nil {
		t.Error("Open with empty path: err = nil")
	}
}

// Every pooled connection, not only the first, must have the pragmas the
// DSN sets.
func TestDB_PragmasOnPooledConnections(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()

	// Hold the connections at once so that the pool opens new ones.
	for i := range 4 {
		conn, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()

		var mode string
		var fk, timeout, sync int
		if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || timeout != 5000 || sync != 1 {
			t.Errorf("connection %d: journal_mode=%s foreign_keys=%d busy_timeout=%d synchronous=%d, want wal 1 5000 1",
				i, mode, fk, timeout, sync)
		}
	}
	if got, want := db.db.Stats().OpenConnections, 4; got < want {
		t.Errorf("open connections = %d, want at least %d", got, want)
	}
}

func TestDB_NowDefaultsToUTC(t *testing.T) {
	db := NewDB(testPath(t))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := time.Now()
	r := mustCreate(t, db, "blog")
	if r.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", r.CreatedAt.Location())
	}
	if r.CreatedAt.Before(before.Add(-time.Second)) || r.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about %v", r.CreatedAt, before)
	}
}

// A write waiting for the write lock gives up when its context ends.
func TestDB_BeginHonoursContext(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	tx, err := db.begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := db.begin(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("begin while another write is open: err = %v, want DeadlineExceeded", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx2, err := db.begin(t.Context())
	if err != nil {
		t.Fatalf("begin after commit: %v", err)
	}
	tx2.Rollback()
}
