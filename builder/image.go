package builder

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/images"
)

// A Dockerfile app's release is its image: built with buildah
// (dockerfile.go) into an OCI layout in the app's cache, then unpacked
// into the release directory's rootfs, which the image runtime (runc)
// mounts read-only. The layout stays in the cache for the application
// layer, which pushes it to slipway's registry as NAME:vN and removes it.

// ImageRelease is what a Dockerfile build made.
type ImageRelease struct {
	// Layout is the OCI image layout the image was built into, in the
	// app's cache; the caller pushes it and removes it.
	Layout string
	Digest string
	// Rootfs is the unpacked image inside the release directory.
	Rootfs     string
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkDir    string
	User       string
	Exposed    []string
}

// KindImage is a release deployed from an image (git:from-image).
const KindImage = "image"

// rootfsDir is where a release directory holds its image's files.
const rootfsDir = "rootfs"

// buildImage builds s.tmp's Dockerfile and leaves s.tmp holding only the
// unpacked image (rootfsDir); the source tree is no longer needed.
func (s *session) buildImage(ctx context.Context) (*ImageRelease, slipway.Procfile, error) {
	var regs []Registry
	done := func() {}
	if s.b.registries != nil {
		regs, done = s.b.registries(s.req.App)
	}
	defer done()
	out := filepath.Join(s.cache, "images", s.req.Version.String())
	os.RemoveAll(out) // a build of this version that was cut off
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, nil, failf(err, "prepare: %v", err)
	}
	storage := filepath.Join(s.cache, "buildah")
	if err := os.MkdirAll(storage, 0o700); err != nil {
		return nil, nil, failf(err, "prepare: %v", err)
	}
	if s.sandbox != nil && s.sandbox.UID != 0 {
		if err := os.Chown(storage, int(s.sandbox.UID), int(s.sandbox.GID)); err != nil {
			return nil, nil, failf(err, "prepare: %v", err)
		}
	}
	built, err := BuildDockerfile(ctx, DockerfileBuild{
		App: s.req.App, Dir: s.tmp, StorageDir: storage, Output: out, Registries: regs,
		Out: s.out, Sandbox: s.sandbox, Timeout: s.b.timeout,
	})
	if err != nil {
		return nil, nil, err
	}
	img, err := images.FromLayout(built.Dir)
	if err != nil {
		return nil, nil, failf(err, "read the built image: %v", err)
	}
	// The release keeps the image's files, not the source tree.
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, nil, failf(err, "prepare: %v", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.tmp, e.Name())); err != nil {
			return nil, nil, failf(err, "prepare: %v", err)
		}
	}
	s.out.header("Unpacking the image")
	if err := images.Unpack(ctx, img, filepath.Join(s.tmp, rootfsDir)); err != nil {
		return nil, nil, failf(err, "unpack the image: %v", err)
	}
	procfile := built.Procfile
	rel := &ImageRelease{Layout: built.Dir, Digest: built.Digest, Rootfs: filepath.Join(s.final, rootfsDir),
		Entrypoint: built.Entrypoint, Cmd: built.Cmd, Env: built.Env, WorkDir: built.WorkingDir, User: built.User, Exposed: built.ExposedPorts}
	procfile, err = rel.withWeb(procfile, "add a CMD to the Dockerfile, or a Procfile with a web line")
	if err != nil {
		return nil, nil, err
	}
	return rel, procfile, nil
}

// withWeb returns procfile with a web process: the image's own command
// (ENTRYPOINT and CMD, shown as the releaser's ImageSpec.DefaultCommand
// shows it) when the image's Procfile has none; todo says what to do
// when the image has no command either.
func (im *ImageRelease) withWeb(procfile slipway.Procfile, todo string) (slipway.Procfile, error) {
	if _, ok := procfile.Command("web"); ok {
		return procfile, nil
	}
	args := append(append([]string(nil), im.Entrypoint...), im.Cmd...)
	if len(args) == 0 {
		return nil, failf(nil, "the image has no CMD or ENTRYPOINT and no Procfile in its WORKDIR: %s", todo)
	}
	return append(slipway.Procfile{{Type: "web", Command: strings.Join(args, " ")}}, procfile...), nil
}

// sealImage turns the unpacked image in tmp into the release final: its
// files keep the image's owners and modes (runc mounts it read-only), so
// unlike seal it changes none.
func sealImage(tmp, final string) error {
	syscall.Sync()
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("%s: exists", final)
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(filepath.Dir(final))
}

// FromImage makes release v of app from img, an image of slipway's
// registry (git:from-image): no build, the image unpacked into the
// release's rootfs. Its process types are those of a slipway release's
// label, else its WORKDIR/Procfile, else web is its ENTRYPOINT and CMD.
func (b *Builder) FromImage(ctx context.Context, app string, v slipway.Version, img v1.Image, out io.Writer) (*Release, error) {
	start := time.Now()
	o := newStream(out)
	final := b.ReleaseDir(app, v)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, failf(err, "prepare: %v", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), "."+v.String()+".tmp-")
	if err != nil {
		return nil, failf(err, "prepare: %v", err)
	}
	done := false
	defer func() {
		if !done {
			Remove(tmp)
		}
	}()
	os.Chmod(tmp, 0o755)
	cfg, err := images.Config(img)
	if err != nil {
		return nil, failf(err, "read the image: %v", err)
	}
	o.header("Unpacking the image")
	rootfs := filepath.Join(tmp, rootfsDir)
	if err := images.Unpack(ctx, img, rootfs); err != nil {
		return nil, failf(err, "unpack the image: %v", err)
	}
	procfile, err := labelProcfile(cfg.Processes)
	if err != nil {
		return nil, failf(err, "%v", err)
	}
	if procfile == nil {
		if procfile, err = imageProcfile(rootfs, cfg.WorkingDir); err != nil {
			return nil, failf(err, "%v", err)
		}
	}
	digest, _ := img.Digest()
	im := &ImageRelease{Digest: digest.String(), Rootfs: filepath.Join(final, rootfsDir),
		Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkDir: cfg.WorkingDir, User: cfg.User, Exposed: cfg.ExposedPorts}
	if procfile, err = im.withWeb(procfile, "nothing to run"); err != nil {
		return nil, err
	}
	sort.Slice(procfile, func(i, j int) bool { return procfile[i].Type < procfile[j].Type })
	if err := sealImage(tmp, final); err != nil {
		return nil, failf(err, "seal release: %v", err)
	}
	done = true
	return &Release{Dir: final, Kind: KindImage, Procfile: procfile, Image: im, Duration: time.Since(start)}, nil
}

// labelProcfile is the Procfile of an image's slipway.processes label,
// nil without one. The label is whoever made the image's: its types name
// a release's files and log lines as a Procfile's do, and are checked as
// they are (a type of ../ would reach out of the app's directories).
func labelProcfile(processes map[string]string) (slipway.Procfile, error) {
	var procfile slipway.Procfile
	for typ, cmd := range processes {
		if err := slipway.CheckProcessType(typ); err != nil {
			return nil, fmt.Errorf("the image's %s label: %v", images.LabelProcesses, err)
		}
		procfile = append(procfile, slipway.Process{Type: typ, Command: cmd})
	}
	return procfile, nil
}

// imageProcfile reads WORKDIR/Procfile inside rootfs, never following a
// link out of it; none is nil.
func imageProcfile(rootfs, workdir string) (slipway.Procfile, error) {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if workdir == "" {
		workdir = "/"
	}
	data, err := root.ReadFile(strings.TrimPrefix(filepath.Join(workdir, "Procfile"), "/"))
	if err != nil {
		return nil, nil
	}
	return slipway.ParseProcfile(data)
}
