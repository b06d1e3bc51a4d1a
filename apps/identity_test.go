package apps

import (
	"os"
	"path/filepath"
	"testing"
)

// An old data dir, with world-readable secrets and app dirs, is made
// slipway's alone.
func TestIdentities_SecureDataDirFixesAnOldOne(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"apps/shop/releases", "repos", "hooks", "run"} {
		os.MkdirAll(filepath.Join(dir, p), 0o755)
	}
	for _, p := range []string{"slipway.db", "admin_token", "affinity.key", "authorized_keys"} {
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	os.Chmod(dir, 0o755)
	ids := NewIdentities(dir, nil, false, 0, testLogger())
	if err := ids.SecureDataDir(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		"": 0o700, "slipway.db": 0o600, "admin_token": 0o600, "affinity.key": 0o600, "authorized_keys": 0o600,
		"repos": 0o700, "hooks": 0o700, "run": 0o700, "apps/shop": 0o750,
	} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode().Perm(), err, want)
		}
	}
}
