package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// seal turns the finished tree tmp into the release final: it removes
// every write bit, flushes the tree to disk and renames it, so that final
// appears complete or not at all.
func seal(tmp, final string, log *slog.Logger) error {
	if err := makeReadOnly(tmp); err != nil {
		return err
	}
	// One sync(2) rather than an fsync per file: node_modules holds
	// thousands of files, and each fsync can wait for a journal commit.
	syscall.Sync()
	// The check and the rename are not one step, but rename(2) still
	// refuses to replace a directory that is not empty.
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("%s: %w", final, fs.ErrExist)
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	// The release is in place; failing to persist the rename does not
	// undo it, so it is logged rather than failing the build.
	if err := syncDir(filepath.Dir(final)); err != nil {
		log.Warn("sync releases directory", "dir", filepath.Dir(final), "err", err)
	}
	return nil
}

// makeReadOnly removes the write bits of dir and everything in it.
// Symlinks are skipped: chmod would follow them.
func makeReadOnly(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if perm := fi.Mode().Perm(); perm&0o222 != 0 {
			return os.Chmod(p, perm&^0o222)
		}
		return nil
	})
}

// syncDir fsyncs the directory dir, persisting renames in it.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// Remove deletes a release directory that Build made read-only, restoring
// the owner's permissions on its directories first. A missing dir is not
// an error.
func Remove(dir string) error {
	if dir == "" {
		return errors.New("remove release: empty path")
	}
	// Errors are left to RemoveAll, which reports what could not go.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o700 != 0o700 {
				_ = os.Chmod(p, fi.Mode().Perm()|0o700)
			}
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove release: %w", err)
	}
	return nil
}
