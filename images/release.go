package images

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The labels slipway puts on a release's image.
const (
	LabelRevision  = "org.opencontainers.image.revision" // the commit
	LabelApp       = "slipway.app"
	LabelVersion   = "slipway.version"
	LabelProcesses = "slipway.processes" // JSON object: process type → command
)

// DefaultWorkDir is where a release's directory is in its image: Heroku's
// path, which buildpack-made apps expect.
const DefaultWorkDir = "/app"

// ReleaseImage is what FromRelease makes an image of.
type ReleaseImage struct {
	Dir string // the release directory on the host: the built app
	// Base is the image the release layer goes on (the stack). If nil,
	// the image holds the release layer alone.
	Base    v1.Image
	App     string
	Version string
	Commit  string
	// Processes are the Procfile's types and commands; "web" becomes the
	// image's Cmd.
	Processes map[string]string
	// Env is the release's environment that is not secret (PATH and the
	// like): config vars are injected at start and never stored in an
	// image. Entries override the base's of the same name.
	Env []string
	// WorkDir is where Dir goes and the processes start. If empty,
	// DefaultWorkDir.
	WorkDir string
	// Created is the image's creation time, the commit's say. If zero,
	// the Unix epoch, so that the same release makes the same image.
	Created time.Time
}

// FromRelease makes the image of a release: the base, then Dir as one
// layer at WorkDir, and a config that runs the web process with
// /bin/sh -c. The layer is the same for the same directory (entries in
// order, no owners or access times), so pushing a release twice pushes
// nothing new. It is held gzip-compressed in memory.
//
// In the layer every file belongs to root, readable and executable by all
// where its owner may read and execute it: the app runs with a uid of its
// own that the image cannot know, and the rootfs is read-only anyway.
// Setuid and setgid bits are dropped (the app's build made these files),
// symlinks are kept as they are and never followed, and sockets, fifos
// and devices are left out. Modification times are kept, to the second:
// Python's .pyc files and other build caches compare them.
func FromRelease(ctx context.Context, r ReleaseImage) (v1.Image, error) {
	workDir := r.WorkDir
	if workDir == "" {
		workDir = DefaultWorkDir
	}
	if !path.IsAbs(workDir) || path.Clean(workDir) == "/" {
		return nil, fmt.Errorf("release image: work dir %q must be an absolute path below /", workDir)
	}
	workDir = path.Clean(workDir)
	base, layerType, err := releaseBase(r.Base)
	if err != nil {
		return nil, err
	}
	w := newLayerWriter()
	if err := writeTree(ctx, w.tw, r.Dir, strings.TrimPrefix(workDir, "/")); err != nil {
		return nil, fmt.Errorf("release image of %s: %w", r.Dir, err)
	}
	layer, err := w.layer(layerType)
	if err != nil {
		return nil, err
	}
	created := r.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: created.UTC()},
			CreatedBy: fmt.Sprintf("slipway release %s %s %s", r.App, r.Version, r.Commit),
			Comment:   "the release directory at " + workDir,
		},
	})
	if err != nil {
		return nil, err
	}
	return withConfig(img, created, func(c *v1.Config) error { return releaseConfig(c, r, workDir) })
}

// releaseBase returns the image a release goes on and the media type its
// layer gets: OCI, or Docker's on a base with Docker's manifest, so that
// one manifest does not mix the two.
func releaseBase(base v1.Image) (v1.Image, types.MediaType, error) {
	if base == nil {
		return emptyOCI(), types.OCILayer, nil
	}
	mt, err := base.MediaType()
	if err != nil {
		return nil, "", fmt.Errorf("release image: base image: %w", err)
	}
	if mt == types.DockerManifestSchema2 {
		return base, types.DockerLayer, nil
	}
	return base, types.OCILayer, nil
}

func releaseConfig(c *v1.Config, r ReleaseImage, workDir string) error {
	procs, err := json.Marshal(r.Processes)
	if err != nil {
		return err
	}
	if r.Processes == nil {
		procs = []byte("{}")
	}
	c.WorkingDir = workDir
	c.Env = mergeEnv(c.Env, r.Env)
	// The base's entrypoint would wrap the web command; PORT is given at
	// start, so the base's ports say nothing about this app.
	c.Entrypoint = nil
	c.Cmd = nil
	if web := r.Processes["web"]; web != "" {
		c.Cmd = []string{"/bin/sh", "-c", web}
	}
	c.ExposedPorts = nil
	labels := map[string]string{}
	for k, v := range c.Labels {
		labels[k] = v
	}
	for k, v := range map[string]string{LabelRevision: r.Commit, LabelApp: r.App, LabelVersion: r.Version} {
		if v != "" {
			labels[k] = v
		}
	}
	labels[LabelProcesses] = string(procs)
	c.Labels = labels
	return nil
}

// mergeEnv returns base with each of over's variables set, replacing a
// base entry of the same name in place.
func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range over {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if oldName, _, _ := strings.Cut(old, "="); oldName == name {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// writeTree writes dir into tw under the name prefix, in lexical order.
func writeTree(ctx context.Context, tw *tar.Writer, dir, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := prefix
		if rel != "." {
			name = path.Join(prefix, filepath.ToSlash(rel))
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return writeEntry(tw, p, name, fi)
	})
}

// writeEntry writes the file p, whose Lstat is fi, as name.
func writeEntry(tw *tar.Writer, p, name string, fi fs.FileInfo) error {
	h := &tar.Header{
		Name:    name,
		Mode:    int64(readableByAll(fi.Mode().Perm())),
		ModTime: fi.ModTime().Truncate(time.Second),
	}
	switch {
	case fi.Mode().IsDir():
		h.Typeflag, h.Name = tar.TypeDir, name+"/"
	case fi.Mode().IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, target, 0o777
	default:
		return nil // a socket, fifo or device: nothing an image should hold
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	// CopyN: a file that grew since the walk must not overrun its header.
	if _, err := io.CopyN(tw, f, h.Size); err != nil {
		return fmt.Errorf("%s changed while it was read: %w", p, err)
	}
	return nil
}

// readableByAll gives group and others the owner's read and execute
// bits. perm, from fs.FileMode.Perm, has no setuid, setgid or sticky bit.
func readableByAll(perm fs.FileMode) fs.FileMode {
	rx := perm & 0o500
	return perm | rx>>3 | rx>>6
}
