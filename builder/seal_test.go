package builder

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestSeal_RenamesReadOnlyTreeIntoPlace(t *testing.T) {
	parent := t.TempDir()
	t.Cleanup(func() { _ = Remove(parent) })
	tmp := filepath.Join(parent, ".v1.tmp-x")
	writeFiles(t, tmp, files{"a/b/c.txt": "c", "run": "#!/bin/sh\n"})
	if err := os.Symlink("run", filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(parent, "v1")
	if err := seal(tmp, final, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary tree still there: %v", err)
	}
	assertReadOnly(t, final)
	if fi, err := os.Stat(filepath.Join(final, "run")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("run: mode %v, %v, want r-xr-xr-x", fi.Mode().Perm(), err)
	}
}

func TestSeal_RefusesToReplaceARelease(t *testing.T) {
	parent := t.TempDir()
	t.Cleanup(func() { _ = Remove(parent) })
	tmp, final := filepath.Join(parent, ".v1.tmp-x"), filepath.Join(parent, "v1")
	writeFiles(t, tmp, files{"new": "new"})
	writeFiles(t, final, files{"old": "old"})
	if err := seal(tmp, final, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("seal replaced an existing release")
	}
	if _, err := os.Stat(filepath.Join(final, "old")); err != nil {
		t.Errorf("existing release damaged: %v", err)
	}
}

func TestRemove_DeletesReadOnlyTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v1")
	writeFiles(t, dir, files{"a/b/c.txt": "c", "d.txt": "d"})
	if err := makeReadOnly(dir); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("still there: %v", err)
	}
	if err := Remove(dir); err != nil {
		t.Errorf("Remove of a missing dir: %v", err)
	}
	if err := Remove(""); err == nil {
		t.Error("Remove(\"\") succeeded")
	}
}

func TestRemove_LeavesSymlinkTargetsAlone(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, files{"keep.txt": "keep"})
	if err := os.Chmod(outside, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(outside, 0o755) })
	dir := filepath.Join(t.TempDir(), "v1")
	writeFiles(t, dir, files{"x": "x"})
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(outside)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o555); got != want {
		t.Errorf("symlink target's mode changed to %v", got)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep.txt")); err != nil {
		t.Error(err)
	}
}
