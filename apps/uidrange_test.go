package apps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClaimRange_DataDirsNeverShareAUID(t *testing.T) {
	registry := filepath.Join(t.TempDir(), "etc", "uid-ranges")
	one, two, gone := t.TempDir(), t.TempDir(), t.TempDir()
	a, err := claimRange(registry, one, 0, nil)
	if err != nil || a.Base != DefaultUIDBase || a.Count != UIDsPerDataDir {
		t.Fatalf("first claim = %+v, %v", a, err)
	}
	b, err := claimRange(registry, two, 0, nil)
	if err != nil || b.Overlaps(a) {
		t.Fatalf("second claim = %+v, %v; first %+v", b, err, a)
	}
	if again, err := claimRange(registry, one, 0, nil); err != nil || again.Base != a.Base {
		t.Errorf("the first data dir again = %+v, %v; want its range %+v", again, err, a)
	}
	if _, err := claimRange(registry, one, b.Base, nil); err == nil || !strings.Contains(err.Error(), "leave --uid-base out") {
		t.Errorf("a data dir asking for another base than its own: %v", err)
	}
	_, err = claimRange(registry, gone, a.Base+10, nil)
	if err == nil || !strings.Contains(err.Error(), one) || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("a base inside another's range: %v", err)
	}
	_, err = claimRange(registry, gone, 0, &[2]int{b.Base + 5, b.Base + 9})
	if err == nil || !strings.Contains(err.Error(), two) {
		t.Errorf("a data dir from before the registry whose apps have uids of another's: %v", err)
	}
	c, err := claimRange(registry, gone, 0, nil)
	if err != nil || c.Overlaps(a) || c.Overlaps(b) {
		t.Fatalf("third claim = %+v, %v", c, err)
	}
	// A data dir that is gone frees its range.
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	d, err := claimRange(registry, t.TempDir(), 0, nil)
	if err != nil || d.Base != c.Base {
		t.Errorf("after the third data dir is gone, a new one got %+v, %v; want its range %+v", d, err, c)
	}
	data, _ := os.ReadFile(registry)
	if strings.Contains(string(data), gone) {
		t.Errorf("the registry still names the data dir that is gone:\n%s", data)
	}

	os.WriteFile(registry, []byte("1900000000 many /var/lib/slipway\n"), 0o644)
	if _, err := claimRange(registry, one, 0, nil); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a broken registry: %v", err)
	}
}

func TestUIDFree_UsersAndProcessesKeepTheirUIDs(t *testing.T) {
	if uidFree(0) {
		t.Error("uid 0 (root's) is free")
	}
	if !processOf(os.Getuid()) {
		t.Error("no process runs as this test's uid")
	}
	if !uidFree(4_000_000_123) {
		t.Error("uid 4000000123, which nobody has, is not free")
	}
}
