package router

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
)

// newStaticHandler returns the handler of a static site in dir, as a user
// of one expects it: index.html for a directory (never a listing),
// clean URLs (/about serves about.html), the site's own 404.html,
// validators (ETag, Last-Modified, 304), gzip (a precompressed .br or .gz
// beside the file when there is one, else compressed as it goes), and
// assets with a hash in their names cached for a year. It follows no
// symlink out of dir.
func newStaticHandler(dir string) (http.Handler, error) {
	// os.Root refuses paths and symlinks that lead outside dir. It keeps dir
	// open; the descriptor is closed when the pool is garbage collected.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return staticSite{siteFS{root.FS()}}, nil
}

// staticSite serves a site's files.
type staticSite struct{ fsys fs.FS }

// hashedName is an asset name with a content hash in it (main.3f2a9c1b.js,
// app-3f2a9c1b.css): its content never changes under that name.
var hashedName = regexp.MustCompile(`[.-][0-9a-fA-F]{8,}\.[a-z0-9]+$`)

// compressible are the types worth gzipping as they are served.
var compressible = regexp.MustCompile(`^(text/|application/(javascript|json|xml|wasm|manifest\+json)|image/svg\+xml)`)

func (s staticSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	upath := r.URL.Path
	if !strings.HasPrefix(upath, "/") {
		upath = "/" + upath
	}
	name, redirect, ok := s.find(path.Clean(upath), strings.HasSuffix(upath, "/"))
	switch {
	case redirect:
		target := path.Base(upath) + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	case !ok:
		s.notFound(w, r)
		return
	}
	s.serveFile(w, r, name, http.StatusOK)
}

// find returns the file that answers the clean path p (with a trailing
// slash when slash): the file, a directory's index.html, or p.html. A
// directory asked for without its slash redirects, as http.FileServer
// does, so that its relative links work.
func (s staticSite) find(p string, slash bool) (name string, redirect, ok bool) {
	name = strings.TrimPrefix(p, "/")
	if name == "" {
		name = "."
	}
	if info, err := fs.Stat(s.fsys, name); err == nil {
		if !info.IsDir() {
			return name, false, !slash
		}
		index := path.Join(name, "index.html")
		if _, err := fs.Stat(s.fsys, index); err != nil {
			return "", false, false
		}
		if !slash && name != "." {
			return "", true, false
		}
		return index, false, true
	}
	if !slash && path.Ext(name) == "" {
		if info, err := fs.Stat(s.fsys, name+".html"); err == nil && !info.IsDir() {
			return name + ".html", false, true
		}
	}
	return "", false, false
}

// notFound answers with the site's 404.html, or a plain 404.
func (s staticSite) notFound(w http.ResponseWriter, r *http.Request) {
	if info, err := fs.Stat(s.fsys, "404.html"); err == nil && !info.IsDir() {
		s.serveFile(w, r, "404.html", http.StatusNotFound)
		return
	}
	http.NotFound(w, r)
}

// serveFile answers with file name and status: with validators, caching
// and compression when status is 200, as it is when 404.
func (s staticSite) serveFile(w http.ResponseWriter, r *http.Request, name string, status int) {
	f, err := s.fsys.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	if status != http.StatusOK {
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			io.Copy(w, f)
		}
		return
	}
	if hashedName.MatchString(name) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache") // revalidate: the next release may change it
	}
	h.Add("Vary", "Accept-Encoding")
	etag := fmt.Sprintf(`"%x-%x`, info.ModTime().UnixNano(), info.Size())
	accept := r.Header.Get("Accept-Encoding")
	// A precompressed copy beside the file, when the client takes it.
	for _, enc := range []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}} {
		if !acceptsEncoding(accept, enc.token) {
			continue
		}
		pre, err := s.fsys.Open(name + enc.ext)
		if err != nil {
			continue
		}
		defer pre.Close()
		if pinfo, err := pre.Stat(); err == nil && !pinfo.IsDir() {
			if rs, ok := pre.(io.ReadSeeker); ok {
				h.Set("Content-Encoding", enc.token)
				h.Set("ETag", etag+"-"+enc.token+`"`)
				http.ServeContent(w, r, name, info.ModTime(), rs)
				return
			}
		}
	}
	if compressible.MatchString(ctype) && acceptsEncoding(accept, "gzip") && info.Size() >= 1024 && r.Header.Get("Range") == "" {
		tag := etag + `-gzip"`
		h.Set("ETag", tag)
		h.Set("Last-Modified", info.ModTime().UTC().Format(http.TimeFormat))
		if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Encoding", "gzip")
		if r.Method == http.MethodHead {
			return
		}
		zw := gzip.NewWriter(w)
		io.Copy(zw, f)
		zw.Close()
		return
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	h.Set("ETag", etag+`"`)
	http.ServeContent(w, r, name, info.ModTime(), rs)
}

// acceptsEncoding reports whether an Accept-Encoding header takes coding
// (with a q above zero).
func acceptsEncoding(header, coding string) bool {
	for part := range strings.SplitSeq(header, ",") {
		token, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(token), coding) {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
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
