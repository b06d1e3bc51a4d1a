package builder

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// KindDockerfile is an app built into an image from the Dockerfile at its
// root, by buildah.
const KindDockerfile = "dockerfile"

// The builders builder:set chooses between. BuilderAuto detects (see
// detectWith); BuilderDockerfile builds the Dockerfile whatever else the
// tree holds; BuilderHost ignores a Dockerfile and builds on the host as
// before Dockerfile builds existed.
const (
	BuilderAuto       = "auto"
	BuilderDockerfile = "dockerfile"
	BuilderHost       = "host"
)

// Registry is an image registry that an unqualified FROM name is looked up
// in, in the order given: slipway's own first.
type Registry struct {
	Host     string // host:port, as in an image name
	Insecure bool   // plain HTTP: slipway's own registry on loopback
	// Username and Password log in; empty means anonymous. Give a token
	// that may only pull: the build runs as the app.
	Username, Password string
}

// DockerfileBuild is one image build of a Dockerfile app.
type DockerfileBuild struct {
	App string
	// Dir is the exported tree, the Dockerfile at its root; the sandbox's
	// user must be able to read it.
	Dir string
	// StorageDir is buildah's storage for this app: the layer cache, kept
	// from one build to the next (DATA/apps/APP/cache/buildah).
	StorageDir string
	// Output is where the image goes, as an OCI image layout directory;
	// it must not exist, and its parent must be on StorageDir's filesystem.
	Output     string
	Registries []Registry
	// Out gets buildah's output one whole line at a time; nil drops it.
	Out io.Writer
	// Sandbox is the app's build sandbox (identity, cgroup, limits). When
	// slipway is root it must name the app's own user: buildah runs as it,
	// rootless. Nil runs buildah as slipway (tests, slipway not root).
	Sandbox *supervisor.Sandbox
	// HostNetwork gives RUN steps the host's network; without it they
	// have a network namespace with loopback only.
	HostNetwork bool
	// Buildah is the buildah program; "buildah" from PATH when empty.
	Buildah string
	// Timeout bounds the build; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Image is a built image and what its config says about running it.
type Image struct {
	Dir    string // the OCI image layout: Output
	Digest string // of its manifest, "sha256:…"
	// Entrypoint, Cmd, User, WorkingDir, Env and ExposedPorts ("8080/tcp")
	// are the image config's.
	Entrypoint, Cmd  []string
	User, WorkingDir string
	Env              []string
	ExposedPorts     []string
	// Procfile is the image's WORKDIR/Procfile (as Dokku reads it); nil
	// when it has none.
	Procfile slipway.Procfile
	// CachedSteps is how many steps buildah took from the layer cache.
	CachedSteps int
}

// buildahULimits are given to RUN steps explicitly: slipway, even as root,
// may lack CAP_SYS_RESOURCE, and the runtime's defaults then fail.
var buildahULimits = []string{"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"}

// BuildDockerfile builds b.Dir's Dockerfile with buildah into the OCI image
// layout b.Output. buildah runs rootless as the sandbox's user, which is
// mapped to root in a user namespace of its own holding that one id: a RUN
// step is the app's user on the host, nothing more. RUN steps run under
// runc with loopback only (unless HostNetwork); buildah itself pulls base
// images over the host's network from b.Registries. Its configuration is
// private to the build (never the host's /etc/containers).
//
// Errors wrap slipway.ErrBuildFailed and are one line: the failing step
// and its last lines, or the FROM image that could not be pulled and the
// registries tried.
func BuildDockerfile(ctx context.Context, b DockerfileBuild) (*Image, error) {
	if b.Timeout <= 0 {
		b.Timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.Timeout, errTimedOut)
	defer cancel()
	if err := slipway.ValidateAppName(b.App); err != nil {
		return nil, failf(err, "%v", err)
	}
	if !isFile(filepath.Join(b.Dir, "Dockerfile")) {
		return nil, failf(nil, "no Dockerfile at the repository root")
	}
	if _, err := os.Lstat(b.Output); err == nil {
		return nil, failf(os.ErrExist, "image %s already exists", b.Output)
	}
	sb, uid, gid, err := buildahSandbox(b.Sandbox)
	if err != nil {
		return nil, err
	}
	work, err := prepareBuildah(b, uid, gid)
	if err != nil {
		return nil, failf(err, "prepare buildah: %v", err)
	}
	defer os.RemoveAll(work.dir)

	log := &buildLog{out: b.Out}
	defer log.flush()
	tag := "localhost/" + b.App + ":latest"
	bud := append(work.globalArgs(b), "bud", "--layers", "--isolation", "oci", "--runtime", "runc",
		"--authfile", work.auth, "--signature-policy", work.policy, "--iidfile", filepath.Join(work.dir, "iid"))
	bud = append(bud, buildahULimits...)
	if !b.HostNetwork {
		bud = append(bud, "--network", "none")
	}
	bud = append(bud, "-t", tag, "-f", "Dockerfile", ".")
	if err := work.run(ctx, b, sb, bud, log); err != nil {
		if ctx.Err() != nil {
			return nil, interrupted(ctx, "buildah bud", b.Timeout)
		}
		return nil, log.failure(err, b.Registries)
	}
	iid, err := os.ReadFile(filepath.Join(work.dir, "iid"))
	if err != nil {
		return nil, failf(err, "buildah bud wrote no image id: %v", err)
	}
	oci := filepath.Join(work.dir, "oci")
	push := append(work.globalArgs(b), "push", "--quiet", "--format", "oci", "--signature-policy", work.policy,
		strings.TrimSpace(string(iid)), "oci:"+oci+":latest")
	if err := work.run(ctx, b, sb, push, log); err != nil {
		if ctx.Err() != nil {
			return nil, interrupted(ctx, "buildah push", b.Timeout)
		}
		return nil, failf(err, "buildah push: %v: %s", err, log.errLine)
	}
	// Old images of the app go; the cache of the one just built stays.
	_ = work.run(ctx, b, sb, append(work.globalArgs(b), "rmi", "--prune"), &buildLog{})

	// The layout becomes slipway's before anyone reads it: the app's user
	// wrote it, and may still run.
	if err := chownTree(oci, os.Geteuid(), os.Getegid()); err != nil {
		return nil, failf(err, "prepare image: %v", err)
	}
	if err := os.Rename(oci, b.Output); err != nil {
		return nil, failf(err, "prepare image: %v", err)
	}
	img, err := readImage(b.Output)
	if err != nil {
		os.RemoveAll(b.Output)
		return nil, failf(err, "read built image: %v", err)
	}
	img.CachedSteps = log.cached
	return img, nil
}

// buildahSandbox returns the sandbox buildah runs in: the app's, for a
// program that mounts (buildah mounts its layers, in a user namespace of
// its own), and the identity it runs as.
func buildahSandbox(sb *supervisor.Sandbox) (*supervisor.Sandbox, int, int, error) {
	if sb == nil || sb.UID == 0 {
		if os.Geteuid() == 0 {
			return nil, 0, 0, failf(nil, "a Dockerfile build needs the app's own user, and slipway gave none")
		}
		if sb == nil {
			return nil, os.Geteuid(), os.Getegid(), nil
		}
	}
	c := *sb
	c.OwnMounts = true
	uid, gid := int(c.UID), int(c.GID)
	if c.UID == 0 {
		uid, gid = os.Geteuid(), os.Getegid()
	}
	return &c, uid, gid, nil
}

// buildahWork is one build's private buildah configuration: its HOME,
// runtime dir, registries, credentials and policy, in a directory only the
// build's user may enter, removed after the build.
type buildahWork struct {
	dir, home, auth, policy, conf string
	storage                       string
}

// prepareBuildah makes the storage and the build's private configuration.
func prepareBuildah(b DockerfileBuild, uid, gid int) (*buildahWork, error) {
	storage, err := filepath.Abs(b.StorageDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(storage, 0o700); err != nil {
		return nil, err
	}
	if err := os.Lchown(storage, uid, gid); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(storage, ".build-")
	if err != nil {
		return nil, err
	}
	w := &buildahWork{dir: dir, storage: storage, home: filepath.Join(dir, "home"),
		auth: filepath.Join(dir, "auth.json"), policy: filepath.Join(dir, "policy.json"),
		conf: filepath.Join(dir, "containers.conf")}
	cfg := filepath.Join(w.home, ".config", "containers")
	files := map[string]string{
		// Found there, it keeps buildah from /etc/containers/registries.conf{,.d}.
		filepath.Join(cfg, "registries.conf"): registriesConf(b.Registries),
		w.auth:                                authJSON(b.Registries),
		w.policy:                              `{"default":[{"type":"insecureAcceptAnything"}]}` + "\n",
		w.conf:                                "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"none\"\n",
	}
	for _, d := range []string{cfg, filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	for name, body := range files {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := chownTree(dir, uid, gid); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return w, nil
}

// globalArgs are buildah's program and global options: the app's storage,
// overlay (native, in buildah's user namespace) with the chown of ids the
// namespace lacks ignored.
func (w *buildahWork) globalArgs(b DockerfileBuild) []string {
	prog := b.Buildah
	if prog == "" {
		prog = "buildah"
	}
	return []string{prog, "--log-level", "error",
		"--root", filepath.Join(w.storage, "storage"), "--runroot", filepath.Join(w.storage, "run"),
		"--storage-driver", "overlay", "--storage-opt", "overlay.ignore_chown_errors=true"}
}

// run runs one buildah command through the process layer.
func (w *buildahWork) run(ctx context.Context, b DockerfileBuild, sb *supervisor.Sandbox, args []string, log *buildLog) error {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + w.home,
		"XDG_CONFIG_HOME=" + filepath.Join(w.home, ".config"),
		"XDG_RUNTIME_DIR=" + filepath.Join(w.dir, "run"),
		"CONTAINERS_CONF=" + w.conf,
		"REGISTRY_AUTH_FILE=" + w.auth,
		"BUILDAH_ISOLATION=oci",
		"LANG=C.UTF-8",
	}
	err := supervisor.Run(ctx, supervisor.Command{Args: args, Dir: b.Dir, Env: env, Nice: BuildNice,
		Sandbox: sb, TmpDir: filepath.Join(w.dir, "tmp")}, log)
	log.flush()
	return err
}

// registriesConf is a registries.conf that looks unqualified names up in
// regs in order, trying each rather than asking which one.
func registriesConf(regs []Registry) string {
	var sb strings.Builder
	names := make([]string, len(regs))
	for i, r := range regs {
		names[i] = strconv.Quote(r.Host)
	}
	fmt.Fprintf(&sb, "unqualified-search-registries = [%s]\nshort-name-mode = \"permissive\"\n", strings.Join(names, ", "))
	for _, r := range regs {
		fmt.Fprintf(&sb, "\n[[registry]]\nlocation = %s\ninsecure = %t\n", strconv.Quote(r.Host), r.Insecure)
	}
	return sb.String()
}

// authJSON is the credentials of regs, as containers-auth.json holds them.
func authJSON(regs []Registry) string {
	auths := map[string]map[string]string{}
	for _, r := range regs {
		if r.Username != "" {
			auths[r.Host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + r.Password))}
		}
	}
	data, _ := json.Marshal(map[string]any{"auths": auths})
	return string(data) + "\n"
}

// buildLog passes buildah's output on a line at a time and keeps what an
// error needs: the current step, its last lines and buildah's error.
type buildLog struct {
	out     io.Writer
	partial []byte
	step    string   // "STEP 2/5: RUN make"
	tail    []string // the step's last lines
	errLine string   // buildah's "Error: …", without the prefix
	cached  int      // steps taken from the cache
}

// tailLines is how many of a failing step's last lines its error quotes.
const tailLines = 5

func (l *buildLog) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	for {
		i := strings.IndexByte(string(l.partial), '\n')
		if i < 0 {
			break
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *buildLog) flush() {
	if len(l.partial) > 0 {
		l.line(string(l.partial))
		l.partial = nil
	}
}

func (l *buildLog) line(s string) {
	s = strings.TrimRight(s, "\r")
	if l.out != nil {
		_, _ = io.WriteString(l.out, s+"\n")
	}
	switch t := strings.TrimSpace(s); {
	case l.errLine != "" && strings.HasPrefix(t, "* "): // one of several causes
		l.errLine += " " + t
	case strings.HasPrefix(s, "STEP "):
		l.step, l.tail = s, nil
	case strings.HasPrefix(s, "Error: "):
		l.errLine = strings.TrimPrefix(s, "Error: ")
	case strings.Contains(s, " level=error msg="), strings.Contains(s, " level=fatal msg="):
		_, msg, _ := strings.Cut(s, " msg=")
		if m, err := strconv.Unquote(msg); err == nil {
			msg = m
		}
		l.errLine = msg
	case strings.HasPrefix(s, "--> Using cache "):
		l.cached++
	case strings.HasPrefix(s, "--> "), strings.TrimSpace(s) == "":
	default:
		l.tail = append(l.tail, strings.TrimSpace(s))
		if len(l.tail) > tailLines {
			l.tail = l.tail[1:]
		}
	}
}

// failure is the error of a failed buildah bud.
func (l *buildLog) failure(err error, regs []Registry) error {
	why := l.errLine
	if why == "" {
		why = err.Error()
	}
	_, instr, _ := strings.Cut(l.step, ": ")
	if image, ok := strings.CutPrefix(instr, "FROM "); ok {
		image, _, _ = strings.Cut(strings.TrimSpace(image), " ")
		return failf(err, "FROM %s: the image could not be pulled from %s: %s", image, triedRegistries(image, regs), why)
	}
	if l.step == "" {
		return failf(err, "buildah bud: %s", why)
	}
	if i := strings.LastIndex(why, ": "); strings.HasPrefix(why, "building at STEP") && i >= 0 {
		why = why[i+2:] // the step is named already
	}
	last := ""
	if len(l.tail) > 0 {
		last = "; last lines: " + strings.Join(l.tail, " | ")
	}
	return failf(err, "Dockerfile %s: %s%s", l.step, why, last)
}

// triedRegistries names where image was looked for: its own registry when
// its name has one, else each of regs in order.
func triedRegistries(image string, regs []Registry) string {
	if first, _, ok := strings.Cut(image, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	if len(regs) == 0 {
		return "no registry (none is configured)"
	}
	hosts := make([]string, len(regs))
	for i, r := range regs {
		hosts[i] = r.Host
	}
	return strings.Join(hosts, ", ") + " (in that order)"
}

// readImage reads the config of the one image in the OCI layout dir.
func readImage(dir string) (*Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%d images in the layout, want 1", len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	c := cf.Config
	out := &Image{Dir: dir, Digest: m.Manifests[0].Digest.String(), Entrypoint: c.Entrypoint, Cmd: c.Cmd,
		User: c.User, WorkingDir: c.WorkingDir, Env: c.Env}
	for port := range c.ExposedPorts {
		out.ExposedPorts = append(out.ExposedPorts, port)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	wd := c.WorkingDir
	if wd == "" {
		wd = "/"
	}
	data, err := findInLayers(layers, path.Join(wd, "Procfile"))
	if err != nil {
		return nil, err
	}
	if data != nil {
		if out.Procfile, err = slipway.ParseProcfile(data); err != nil {
			return nil, fmt.Errorf("the image's %s: %w", path.Join(wd, "Procfile"), err)
		}
	}
	return out, nil
}

// layer is what findInLayers needs of an image layer.
type layer interface {
	Uncompressed() (io.ReadCloser, error)
}

// findInLayers returns the regular file name (absolute) as the image whose
// layers are layers (bottom first) has it: from the topmost layer holding
// it, or nil when it is absent or deleted by a whiteout above.
func findInLayers[L layer](layers []L, name string) ([]byte, error) {
	name = strings.TrimPrefix(path.Clean(name), "/")
	whiteout := path.Join(path.Dir(name), ".wh."+path.Base(name))
	for i := len(layers) - 1; i >= 0; i-- {
		data, found, err := findInLayer(layers[i], name, whiteout)
		if err != nil || found {
			return data, err
		}
	}
	return nil, nil
}

func findInLayer(l layer, name, whiteout string) ([]byte, bool, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		switch strings.TrimPrefix(path.Clean(h.Name), "/") {
		case whiteout:
			return nil, true, nil
		case name:
			if h.Typeflag != tar.TypeReg {
				return nil, true, nil
			}
			data, err := io.ReadAll(io.LimitReader(tr, maxManifestRead))
			return data, true, err
		}
	}
}
