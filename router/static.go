package router

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
)

// newStaticHandler returns a handler serving the files under dir the way
// http.FileServer does, except that it lists no directory (one without an
// index.html is not found) and follows no symlink out of dir.
func newStaticHandler(dir string) (http.Handler, error) {
	// os.Root refuses paths and symlinks that lead outside dir. It keeps dir
	// open; the descriptor is closed when the pool is garbage collected.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return http.FileServerFS(siteFS{root.FS()}), nil
}

// siteFS is a static site's file system: directories exist only when they
// have an index.html, and their files cannot be listed.
type siteFS struct{ fsys fs.FS }

// Open implements fs.FS.
func (s siteFS) Open(name string) (fs.File, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, notFound(err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, notFound(err)
	}
	if !info.IsDir() {
		return f, nil
	}
	if _, err := fs.Stat(s.fsys, path.Join(name, "index.html")); err != nil {
		f.Close()
		return nil, fs.ErrNotExist
	}
	return unlistable{f}, nil
}

// unlistable hides a directory's ReadDir method, so that http.FileServer
// cannot list it even if its index.html disappears after Open.
type unlistable struct{ fs.File }

// notFound maps errors such as "path escapes from parent" to fs.ErrNotExist,
// so that http.FileServer answers 404 rather than 500; permission errors
// stay 403.
func notFound(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return err
	}
	return fs.ErrNotExist
}
