package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// seal turns the finished tree tmp into the release final: it gives every
// file to slipway (group gid, when not -1, may read), removes every write
// bit, flushes the tree to disk and renames it, so that final appears
// complete or not at all. A file with more than one hard link is first
// replaced by a copy of its own: a build may link a file from outside its
// tree, and sealing must never change a file outside the release.
func seal(tmp, final string, gid int, log *slog.Logger) error {
	if err := makeReadOnly(tmp, gid); err != nil {
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

// makeReadOnly removes the write bits of dir and everything in it and,
// with gid >= 0, gives it to root and group gid, which may read (and
// enter and execute where the owner may). Symlinks are only re-owned:
// chmod would follow them.
func makeReadOnly(dir string, gid int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if gid >= 0 {
			if err := os.Lchown(p, 0, gid); err != nil {
				return err
			}
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && st.Nlink > 1 {
			if err := unlink(p, fi); err != nil {
				return err
			}
		}
		perm := fi.Mode().Perm()
		if gid >= 0 {
			perm |= (perm & 0o500) >> 3 // the group reads what the owner reads
		}
		if want := perm &^ 0o222; want != fi.Mode().Perm() {
			return os.Chmod(p, want)
		}
		return nil
	})
}

// unlink replaces the hard-linked file p by a copy with an inode of its
// own, so that what is done to p no longer reaches the other links.
func unlink(p string, fi fs.FileInfo) error {
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(p), ".unlink-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, src)
	err = errors.Join(err, tmp.Chmod(fi.Mode().Perm()), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// chownTree gives dir and everything in it to uid:gid, without following
// symlinks.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
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
