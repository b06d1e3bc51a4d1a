package apps

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// A slipway killed after a rename's history change and before its
// directories moved finishes the move at its next start, and the app runs
// under the new name.
func TestRename_FinishedAfterACrash(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "first")
	f.stop()
	layout := slipway.Layout{Root: f.dataDir}
	// What Rename does before it moves anything: the marker, then the
	// history.
	marker, _ := json.Marshal(renameMarker{Old: "app", New: "renamed"})
	if err := os.WriteFile(filepath.Join(f.dataDir, "rename.json"), marker, 0o600); err != nil {
		t.Fatal(err)
	}
	oldDir, newDir := layout.AppDir("app"), layout.AppDir("renamed")
	if err := f.db.RenameApp(context.Background(), "app", "renamed", func(r *slipway.Release) slipway.ReleaseUpdate {
		return movedRelease(r, "renamed", oldDir, newDir)
	}); err != nil {
		t.Fatal(err)
	}
	f.app = "renamed"
	f.svc = f.start(releaser.Config{})
	if _, err := os.Stat(filepath.Join(f.dataDir, "rename.json")); !os.IsNotExist(err) {
		t.Errorf("the marker is still there: %v", err)
	}
	for _, p := range []string{layout.Repo("renamed"), filepath.Join(layout.Release("renamed", 1), "Procfile")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after the restart: %v", err)
		}
	}
	if _, err := os.Stat(oldDir); !os.IsNotExist(err) {
		t.Errorf("the old directory is still there: %v", err)
	}
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 ") {
		t.Errorf("the renamed app answers %q", got)
	}
}
