package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

var (
	uploadPath   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/([a-zA-Z0-9-_.=]+)$`)
	manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
)

// maxManifestSize is distribution's own bound on a manifest's body.
const maxManifestSize = 4 << 20

var errTooLarge = errors.New("over the registry's size limit")

// limit answers the request itself, and reports true, when it would push
// more than MaxImageSize: a blob upload's data (PATCH or PUT, counted
// across the upload's chunks) or a manifest whose config and layers add
// up to more. Distribution has no such bound of its own.
func (r *Registry) limit(w http.ResponseWriter, req *http.Request) bool {
	switch req.Method {
	case http.MethodPatch, http.MethodPut:
		if m := uploadPath.FindStringSubmatch(req.URL.Path); m != nil {
			r.limitUpload(w, req, m[1], m[2])
			return true
		}
		if m := manifestPath.FindStringSubmatch(req.URL.Path); m != nil && req.Method == http.MethodPut {
			return r.limitManifest(w, req, m[1], m[2])
		}
	}
	return false
}

// limitUpload serves a chunk of a blob upload with its body cut at what
// is left of MaxImageSize. An upload that goes over is cancelled, so that
// it leaves nothing on disk, and answered 413.
func (r *Registry) limitUpload(w http.ResponseWriter, req *http.Request, name, uuid string) {
	left := r.cfg.MaxImageSize - r.uploaded(name, uuid)
	if req.ContentLength > left {
		r.refuseUpload(w, req, name, uuid)
		return
	}
	body := &cappedBody{ReadCloser: req.Body, left: left}
	req.Body = body
	cw := &cappedWriter{ResponseWriter: w, body: body}
	r.app.ServeHTTP(cw, req)
	if body.over {
		r.refuseUpload(w, req, name, uuid)
	}
}

func (r *Registry) refuseUpload(w http.ResponseWriter, req *http.Request, name, uuid string) {
	// Distribution's own DELETE of the upload would refuse it now that
	// its size and its state disagree, so remove its data directly.
	if dir, ok := uploadDir(name, uuid); ok {
		if err := r.driver.Delete(req.Context(), dir); err != nil && !errors.As(err, new(storagedriver.PathNotFoundError)) {
			r.log.Warn("registry: remove a refused upload", "path", dir, "err", err)
		}
	}
	r.log.Info("registry: upload refused: over the size limit", "repo", name, "limit", r.cfg.MaxImageSize)
	writeError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID",
		fmt.Sprintf("blob larger than the registry's limit of %s (--max-image-size)", humanBytes(r.cfg.MaxImageSize)))
}

// uploadDir is where the storage driver keeps an upload in progress, if
// name and uuid are well-formed.
func uploadDir(name, uuid string) (string, bool) {
	if _, err := reference.WithName(name); err != nil || strings.Trim(uuid, ".") == "" {
		return "", false
	}
	return path.Join("/", v2Root, "repositories", name, "_uploads", uuid), true
}

// uploaded is how much an upload in progress already holds, from the
// filesystem driver's layout; 0 when unknown (distribution then refuses
// the upload itself).
func (r *Registry) uploaded(name, uuid string) int64 {
	dir, ok := uploadDir(name, uuid)
	if !ok {
		return 0
	}
	fi, err := os.Stat(filepath.Join(r.cfg.Root, filepath.FromSlash(dir), "data"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// limitManifest refuses an image manifest whose config and layers, as
// stored, add up to more than MaxImageSize. Otherwise it restores the
// body for distribution and reports false.
func (r *Registry) limitManifest(w http.ResponseWriter, req *http.Request, name, ref string) bool {
	data, err := io.ReadAll(io.LimitReader(req.Body, maxManifestSize+1))
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil || len(data) > maxManifestSize {
		return false // distribution answers a broken or huge body itself
	}
	var m struct {
		Config *struct {
			Digest digest.Digest `json:"digest"`
			Size   int64         `json:"size"`
		} `json:"config"`
		Layers []struct {
			Digest digest.Digest `json:"digest"`
			Size   int64         `json:"size"`
		} `json:"layers"`
	}
	if json.Unmarshal(data, &m) != nil || m.Config == nil {
		return false // an index, or not a manifest: nothing to add up
	}
	seen := map[digest.Digest]bool{}
	total := r.storedSize(req.Context(), name, m.Config.Digest, m.Config.Size, seen)
	for _, l := range m.Layers {
		total += r.storedSize(req.Context(), name, l.Digest, l.Size, seen)
	}
	if total <= r.cfg.MaxImageSize {
		return false
	}
	writeError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID",
		fmt.Sprintf("image %s:%s is %s, over the registry's limit of %s (--max-image-size)",
			name, ref, humanBytes(total), humanBytes(r.cfg.MaxImageSize)))
	return true
}

// storedSize is a blob's size as stored in repo, or the size its
// descriptor claims when it is not there (distribution then refuses the
// manifest). A blob counted before counts 0.
func (r *Registry) storedSize(ctx context.Context, repo string, d digest.Digest, claimed int64, seen map[digest.Digest]bool) int64 {
	if seen[d] {
		return 0
	}
	seen[d] = true
	if size, err := r.blobSize(ctx, repo, d); err == nil {
		return size
	}
	return max(claimed, 0)
}

// cappedBody fails a read past its limit.
type cappedBody struct {
	io.ReadCloser
	left int64
	over bool
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.over {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		b.over = true
		return n, errTooLarge
	}
	return n, err
}

// cappedWriter drops distribution's answer to a body cut short by
// cappedBody, for limitUpload to answer instead.
type cappedWriter struct {
	http.ResponseWriter
	body  *cappedBody
	wrote bool
}

func (w *cappedWriter) WriteHeader(code int) {
	if w.body.over && !w.wrote {
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.body.over && !w.wrote {
		return len(p), nil
	}
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// humanBytes prints a size the way --max-image-size is given.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.4g %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
