package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Relocate makes the release directory now at to, which was at from (its
// app was renamed), work where it is: a Python app's virtualenv names the
// directory it was made in. Release directories are sealed read-only, so
// a file is made writable for its rewrite and sealed again. A release
// without a virtualenv needs nothing; running it again with the same
// paths changes nothing.
func Relocate(to, from string) error {
	venv := filepath.Join(to, venvDir)
	if _, err := os.Lstat(filepath.Join(venv, "pyvenv.cfg")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	bin := filepath.Join(venv, "bin")
	files := []string{filepath.Join(venv, "pyvenv.cfg")}
	entries, err := os.ReadDir(bin)
	if err != nil {
		return fmt.Errorf("relocate virtualenv: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(bin, e.Name()))
		}
	}
	for _, f := range files {
		if err := writable(f, func() error { return replaceInFile(f, []byte(from), []byte(to)) }); err != nil {
			return fmt.Errorf("relocate virtualenv: %w", err)
		}
	}
	return nil
}

// writable runs fn with file name writable by its owner, then gives it
// its mode back. Root writes without it.
func writable(name string, fn func() error) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	mode := fi.Mode().Perm()
	if os.Geteuid() == 0 || mode&0o200 != 0 {
		return fn()
	}
	if err := os.Chmod(name, mode|0o200); err != nil {
		return err
	}
	err = fn()
	if cerr := os.Chmod(name, mode); err == nil {
		err = cerr
	}
	return err
}
