package gitserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// During a push the new objects are in git's quarantine, which git moves
// into the repository only once the pre-receive hook has said yes, and
// deletes otherwise. A deploy that goes live and is then cut off (slipway
// killed before the hook's answer) would leave the live release's commit
// nowhere in the repository. KeepObjects copies them in before the
// switch, so that the next start can move the branch to the live commit
// (SetRef).

// KeepObjects links (or copies) the objects of push p's quarantine into
// its repository's object store. Objects are immutable and named by their
// content, so one already there is left as it is; packs go before their
// indexes, as git migrates them, so that no reader finds an index without
// its pack.
func KeepObjects(p Push) error {
	var quarantine string
	for _, kv := range p.GitEnv {
		if v, ok := strings.CutPrefix(kv, "GIT_QUARANTINE_PATH="); ok {
			quarantine = v
		}
	}
	if quarantine == "" {
		return nil // not a push in progress (a test's, or an old git's)
	}
	objects := filepath.Join(p.RepoDir, "objects")
	var files []string
	err := filepath.WalkDir(quarantine, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keep the pushed objects: %w", err)
	}
	// .idx (and other pack files) after their .pack.
	slices.SortStableFunc(files, func(a, b string) int {
		return boolInt(strings.HasSuffix(a, ".idx")) - boolInt(strings.HasSuffix(b, ".idx"))
	})
	for _, src := range files {
		rel, err := filepath.Rel(quarantine, src)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		dst := filepath.Join(objects, rel)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("keep the pushed objects: %w", err)
		}
		// The quarantine is inside the repository's objects: a link, as
		// git's own migration makes, costs the push nothing; a copy is the
		// fallback where links fail.
		if err := os.Link(src, dst); err == nil || errors.Is(err, fs.ErrExist) {
			continue
		}
		if err := copyObject(src, dst); err != nil {
			return fmt.Errorf("keep the pushed objects: %w", err)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// copyObject copies src to dst through a temporary file and a rename, so
// that dst is whole or absent, and syncs it.
func copyObject(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".keep-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o444); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), dst); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// SetRef moves ref of the bare repository repoDir to sha if it is at old
// (git update-ref's compare-and-swap).
func SetRef(ctx context.Context, repoDir, ref, sha, old string) error {
	if !strings.HasPrefix(ref, "refs/heads/") || strings.ContainsAny(ref, " \t\n") {
		return fmt.Errorf("not a branch: %q", ref)
	}
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+repoDir, "update-ref", "-m", "slipway: the live release's commit", ref, sha, old)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("move %s of %s to %s: %v: %s", ref, repoDir, sha, err, strings.TrimSpace(string(out)))
	}
	return nil
}
