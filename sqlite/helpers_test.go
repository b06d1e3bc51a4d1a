package sqlite

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// clock is a Now that starts at a fixed time and moves on a second at
// each call.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// testPath returns a database path in a fresh temporary directory.
func testPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "sub", "slipway.db")
}

// mustOpenDB opens the database at path with a test clock, and closes it
// when the test ends.
func mustOpenDB(t *testing.T, path string) *DB {
	t.Helper()
	db := NewDB(path)
	db.Now = newClock().Now
	if err := db.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// mustCreate records a building push release of app and returns it.
func mustCreate(t *testing.T, db *DB, app string) *slipway.Release {
	t.Helper()
	r := &slipway.Release{App: app, Kind: slipway.KindPush, Status: slipway.StatusBuilding}
	if err := db.CreateRelease(t.Context(), r); err != nil {
		t.Fatalf("CreateRelease(%s): %v", app, err)
	}
	return r
}

// count returns the number of rows in table.
func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
