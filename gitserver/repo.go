package gitserver

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// repoExists reports whether a bare repository is at dir.
func repoExists(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "HEAD"))
	return err == nil && st.Mode().IsRegular()
}

// ensureRepo creates the bare repository at dir, with HEAD on main, unless
// it exists. It initialises a temporary directory and renames it into
// place, so a crash or a concurrent first push never leaves half a repo.
func ensureRepo(dir string) (created bool, err error) {
	if repoExists(dir) {
		return false, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	_, err = git.PlainInitWithOptions(tmp, &git.PlainInitOptions{
		Bare:        true,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.Main},
	})
	if err != nil {
		return false, fmt.Errorf("git init: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if repoExists(dir) { // another push created it first
			return false, nil
		}
		return false, err
	}
	return true, nil
}
