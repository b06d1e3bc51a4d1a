package builder

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
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
	if err := seal(tmp, final, -1, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
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
	if err := seal(tmp, final, -1, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("seal replaced an existing release")
	}
	if _, err := os.Stat(filepath.Join(final, "old")); err != nil {
		t.Errorf("existing release damaged: %v", err)
	}
}

func TestRemove_DeletesReadOnlyTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v1")
	writeFiles(t, dir, files{"a/b/c.txt": "c", "d.txt": "d"})
	if err := makeReadOnly(dir, -1); err != nil {
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

// A build that hard-links a file from outside its tree (the history
// database, say) must not have sealing make that file read-only: the
// release gets a copy of its own.
func TestSeal_NeverChangesAFileOutsideTheRelease(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "slipway.db")
	if err := os.WriteFile(outside, []byte("secrets"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp, final := filepath.Join(parent, ".v1.tmp"), filepath.Join(parent, "v1")
	if err := os.MkdirAll(filepath.Join(tmp, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(tmp, "public", "db")); err != nil {
		t.Fatal(err)
	}
	if err := seal(tmp, final, os.Getgid(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(outside); fi.Mode().Perm() != 0o600 {
		t.Errorf("sealing changed the outside file to %v", fi.Mode().Perm())
	}
	if err := os.WriteFile(outside, []byte("changed"), 0o600); err != nil {
		t.Fatalf("the outside file is no longer writable: %v", err)
	}
	inside := filepath.Join(final, "public", "db")
	fi, err := os.Stat(inside)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Nlink != 1 || fi.Mode().Perm() != 0o440 {
		t.Errorf("the release's file has %d links and mode %v, want a read-only copy of its own (0440)", st.Nlink, fi.Mode().Perm())
	}
}
