package sqlite

import (
	"testing"
	"time"
)

// Signed-out sessions are kept across a reopening of the database (a
// restart) until they would have expired.
func TestDB_RevokedSessionsOutliveAReopen(t *testing.T) {
	path := testPath(t)
	db := mustOpenDB(t, path)
	now := db.now()
	if err := db.RevokeSession(t.Context(), "gone", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeSession(t.Context(), "out", now.Add(12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Revoking again prunes what expired.
	if err := db.RevokeSession(t.Context(), "out2", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, "revoked_sessions"); got != 2 {
		t.Errorf("%d rows kept, want 2 (the expired one pruned)", got)
	}
	db.Close()

	again := mustOpenDB(t, path)
	got, err := again.RevokedSessions(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["out"].Equal(time.Unix(now.Add(12*time.Hour).Unix(), 0)) {
		t.Errorf("after a reopen: %v, want out and out2", got)
	}
	if got, _ := again.RevokedSessions(t.Context(), now.Add(2*time.Hour)); len(got) != 1 {
		t.Errorf("two hours later: %v, want only out", got)
	}
}
