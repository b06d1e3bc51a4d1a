package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Delete removes tag from repo, and the manifest it names when no other
// tag of repo names it. The blobs stay until GC.
func (r *Registry) Delete(ctx context.Context, repo, tag string) error {
	r.gc.RLock()
	defer r.gc.RUnlock()
	rep, err := r.repository(ctx, repo)
	if err != nil {
		return err
	}
	tags := rep.Tags(ctx)
	desc, err := tags.Get(ctx, tag)
	if err != nil {
		return notFound(err, repo+":"+tag)
	}
	if err := tags.Untag(ctx, tag); err != nil {
		return fmt.Errorf("registry: untag %s:%s: %w", repo, tag, err)
	}
	others, err := tags.Lookup(ctx, v1.Descriptor{Digest: desc.Digest})
	if err != nil {
		return fmt.Errorf("registry: tags of %s: %w", repo, err)
	}
	if len(others) > 0 {
		return nil
	}
	ms, err := rep.Manifests(ctx)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := ms.Delete(ctx, desc.Digest); err != nil && !errors.As(err, new(distribution.ErrManifestUnknownRevision)) {
		return fmt.Errorf("registry: delete the manifest of %s:%s: %w", repo, tag, err)
	}
	return nil
}

// GC removes what no tag reaches: untagged manifests, the blobs no kept
// manifest references and repositories' links to them, with
// distribution's MarkAndSweep, and uploads left unfinished. It reports
// the bytes of blobs it removed.
//
// It holds the registry's write lock: pushes wait while it runs rather
// than fail, since it takes seconds on the filesystem. A push spans
// several requests, so between them GC could see a layer uploaded but its
// manifest not yet put: what was written within Config.GCGrace is kept.
func (r *Registry) GC(ctx context.Context) (freed int64, err error) {
	r.gc.Lock()
	defer r.gc.Unlock()
	if !r.exists("repositories") {
		return 0, nil // nothing was ever pushed
	}
	cutoff := time.Now().Add(-r.cfg.GCGrace)
	s := &sweeper{StorageDriver: r.driver, cutoff: cutoff}
	// MarkAndSweep fails where no blob was ever stored.
	if r.exists("blobs") {
		if s.recent, err = r.recentLinks(cutoff); err != nil {
			return 0, fmt.Errorf("registry: gc: %w", err)
		}
		err = storage.MarkAndSweep(ctx, s, r.ns, storage.GCOpts{RemoveUntagged: true, Quiet: true})
	}
	// Uploads their clients abandoned, which distribution's own purger
	// removes only after a week.
	_, purgeErrs := storage.PurgeUploads(ctx, r.driver, cutoff, true)
	err = errors.Join(append([]error{err}, purgeErrs...)...)
	r.log.Info("registry: gc", "freed", s.freed, "kept_recent", s.kept, "err", err)
	if err != nil {
		return s.freed, fmt.Errorf("registry: gc: %w", err)
	}
	return s.freed, nil
}

func (r *Registry) exists(dir string) bool {
	_, err := os.Stat(filepath.Join(r.cfg.Root, v2Root, dir))
	return err == nil
}

// v2Root is where the filesystem driver keeps distribution's layout.
const v2Root = "docker/registry/v2"

// recentLinks are the digests that some repository linked (a layer or a
// manifest revision) after cutoff: a push in progress may reference them
// though the blob itself is older.
func (r *Registry) recentLinks(cutoff time.Time) (map[string]bool, error) {
	recent := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(r.cfg.Root, v2Root, "repositories"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || d.Name() != "link" {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().After(cutoff) {
			recent[filepath.Base(filepath.Dir(p))] = true
		}
		return nil
	})
	return recent, err
}

// sweeper is the storage driver that MarkAndSweep deletes through: it
// keeps what was written after cutoff and counts the bytes of the blobs
// it removes.
type sweeper struct {
	storagedriver.StorageDriver
	cutoff time.Time
	recent map[string]bool
	freed  int64
	kept   int
}

func (s *sweeper) Delete(ctx context.Context, p string) error {
	var size int64
	switch {
	case strings.HasPrefix(p, "/"+v2Root+"/blobs/"):
		fi, err := s.Stat(ctx, path.Join(p, "data"))
		if err == nil && (fi.ModTime().After(s.cutoff) || s.recent[path.Base(p)]) {
			s.kept++
			return nil
		}
		if err == nil {
			size = fi.Size()
		}
	case strings.Contains(p, "/_layers/") || strings.Contains(p, "/_manifests/revisions/"):
		if fi, err := s.Stat(ctx, path.Join(p, "link")); err == nil && fi.ModTime().After(s.cutoff) {
			s.kept++
			return nil
		}
	}
	if err := s.StorageDriver.Delete(ctx, p); err != nil {
		return err
	}
	s.freed += size
	return nil
}
