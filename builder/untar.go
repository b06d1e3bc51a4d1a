package builder

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/slipway/slipway"
)

// untar extracts a tar stream made by git archive into root. The pushed
// tree is untrusted: every name must stay inside root (os.Root also refuses
// to write through a symlink that leads out), only directories, regular
// files and symlinks are accepted, and a symlink may not point outside the
// tree.
func untar(root *os.Root, r io.Reader, lim treeLimits) error {
	tr := tar.NewReader(r)
	files, size := 0, int64(0)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader { // git archive's commit id
			continue
		}
		name := path.Clean(strings.TrimSuffix(h.Name, "/"))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%q: path outside the repository", h.Name)
		}
		if files++; lim.files > 0 && files > lim.files {
			return fmt.Errorf("the pushed tree has more than %d files and directories, slipway takes at most %d (--max-tree-files)", lim.files, lim.files)
		}
		if size += max(h.Size, 0); lim.bytes > 0 && size > lim.bytes {
			return fmt.Errorf("the pushed tree holds more than %s of files, slipway takes at most %s (--max-tree-bytes)", slipway.FormatBytes(lim.bytes), slipway.FormatBytes(lim.bytes))
		}
		name = filepath.FromSlash(name)
		if err := untarEntry(root, tr, h, name); err != nil {
			return fmt.Errorf("%q: %w", h.Name, err)
		}
	}
}

// treeLimits bound a pushed tree: entries, and bytes of file content.
type treeLimits struct {
	files int
	bytes int64
}

func untarEntry(root *os.Root, tr *tar.Reader, h *tar.Header, name string) error {
	switch h.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		perm := fs.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			perm = 0o755
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		return errors.Join(err, f.Close())
	case tar.TypeSymlink:
		if escapes(name, h.Linkname) {
			return fmt.Errorf("symlink to %q points outside the repository", h.Linkname)
		}
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		return root.Symlink(h.Linkname, name)
	}
	return fmt.Errorf("unsupported entry type %q", h.Typeflag)
}

// escapes reports whether the symlink name → target leaves the tree, going
// by the names alone.
func escapes(name, target string) bool {
	if target == "" || filepath.IsAbs(target) || strings.HasPrefix(target, "/") {
		return true
	}
	t := filepath.Join(filepath.Dir(name), filepath.FromSlash(target))
	return t != "." && !filepath.IsLocal(t)
}

// checkSymlinks checks the symlinks of the extracted tree dir against what
// the names alone cannot show: a link through another link that climbs out
// (a → .., b → a/../etc). A link that resolves must resolve inside dir; a
// dangling one may not climb with "..".
func checkSymlinks(dir string) error {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			if slices.Contains(strings.Split(filepath.ToSlash(target), "/"), "..") {
				return fmt.Errorf("%q: dangling symlink to %q climbs out of the tree with \"..\"", rel, target)
			}
			return nil
		}
		if r, err := filepath.Rel(realDir, resolved); err != nil || (r != "." && !filepath.IsLocal(r)) {
			return fmt.Errorf("%q: symlink to %q points outside the repository", rel, target)
		}
		return nil
	})
}
