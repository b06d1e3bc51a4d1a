package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/supervisor"
)

func TestMain(m *testing.M) {
	supervisor.Reexec()
	os.Exit(m.Run())
}

// dockerfileEnv is what a Dockerfile build test needs: a registry on
// loopback that wants slipway's credentials and holds busybox:latest, a
// root directory every part of the build lives under, and, as root, an
// app user of the test's own with its sandbox.
type dockerfileEnv struct {
	root     string
	registry Registry
	sandbox  *supervisor.Sandbox
	uid      int
	pulls    atomic.Int64 // manifest requests the registry answered
}

const testToken = "token-for-tests"

func newDockerfileEnv(t testing.TB) *dockerfileEnv {
	t.Helper()
	testutil.NeedTool(t, "buildah", "buildah")
	testutil.NeedTool(t, "runc", "runc", "/usr/sbin/runc")
	if _, err := os.Stat("/bin/busybox"); err != nil {
		testutil.Missing(t, "no /bin/busybox: apt-get install busybox-static")
	}
	e := &dockerfileEnv{uid: os.Geteuid()}
	// Not t.TempDir: the app's user must be able to enter it.
	root, err := os.MkdirTemp("", "slipway-dockerfile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	e.root = root
	// The app's build cache, as slipway prepares it: the app may enter it.
	if err := os.Mkdir(filepath.Join(root, "cache"), 0o755); err != nil {
		t.Fatal(err)
	}

	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "slipway" || p != testToken {
			w.Header().Set("WWW-Authenticate", `Basic realm="slipway"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
			e.pulls.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	e.registry = Registry{Host: host, Insecure: true, Username: "slipway", Password: testToken}
	ref, err := name.ParseReference(host+"/busybox:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, busyboxImage(t), remote.WithAuth(&authn.Basic{Username: "slipway", Password: testToken})); err != nil {
		t.Fatal(err)
	}
	e.pulls.Store(0)

	if os.Geteuid() == 0 {
		e.sandbox = testAppUser(t, root)
		e.uid = int(e.sandbox.UID)
	}
	return e
}

// testAppUser makes an app user of the test's own (a free uid far up, its
// HOME below root, removed when the test ends) and its sandbox, with a
// copy of the test binary as launcher that the user may execute.
func testAppUser(t testing.TB, root string) *supervisor.Sandbox {
	t.Helper()
	useradd := testutil.NeedTool(t, "useradd", "passwd", "/usr/sbin/useradd")
	t.Cleanup(func() { testutil.RemoveUsersUnder(root) })
	uid := 0
	for range 100 {
		c := 1_990_000_000 + rand.IntN(1_000_000)
		if _, err := user.LookupId(strconv.Itoa(c)); err != nil {
			uid = c
			break
		}
	}
	login := "slipway-test-" + strconv.Itoa(uid)
	if out, err := testutil.Command(t, time.Minute, useradd, "-M", "-N", "-u", strconv.Itoa(uid), "-d", filepath.Join(root, "home"), "-s", "/usr/sbin/nologin", login).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	launcher := filepath.Join(root, "launcher")
	if err := os.WriteFile(launcher, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sb := &supervisor.Sandbox{UID: uint32(uid), GID: uint32(uid), Launcher: launcher}
	if supervisor.CgroupsAvailable() { // the app's build cgroup, with its limits
		sb.Cgroup = "slipway-test-dockerfile-" + strconv.Itoa(uid)
		sb.Limits = slipway.Limits{Memory: 1 << 30, PIDs: 512}
	}
	return sb
}

// busyboxImage is a base image made of Debian's static busybox and a few
// of its applet links.
func busyboxImage(t testing.TB) v1.Image {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin", "tmp"} {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: mode}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bb); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "echo", "cat", "mkdir", "id", "httpd", "ls", "wget", "sleep"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// tree writes fs as an exported tree the app's user may read.
func (e *dockerfileEnv) tree(t testing.TB, fs files) string {
	t.Helper()
	dir, err := os.MkdirTemp(e.root, "tree-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range fs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// build builds the tree dir into a new output directory, with the app's
// storage under e.root.
func (e *dockerfileEnv) build(t testing.TB, dir string, out io.Writer, regs ...Registry) (*Image, error) {
	t.Helper()
	if regs == nil {
		regs = []Registry{e.registry}
	}
	output := filepath.Join(e.root, fmt.Sprintf("image-%d", rand.Int64()))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return BuildDockerfile(ctx, DockerfileBuild{
		App: "web", Dir: dir, StorageDir: filepath.Join(e.root, "cache", "buildah"), Output: output,
		Registries: regs, Out: out, Sandbox: e.sandbox, Timeout: 2 * time.Minute,
	})
}

// diffIDs are the uncompressed digests of the layers of the image in the
// OCI layout dir.
func diffIDs(t testing.TB, dir string) []v1.Hash {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.RootFS.DiffIDs
}

func TestBuildDockerfile_BuildsTheImageAndItsCacheServesTheNextBuild(t *testing.T) {
	e := newDockerfileEnv(t)
	// A listener of the host's: RUN steps have no network and must not
	// reach it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var reached atomic.Bool
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			reached.Store(true)
			c.Close()
		}
	}()
	dir := e.tree(t, files{
		"Dockerfile": "FROM busybox\n" +
			"RUN echo hi > /x && id -u > /uid && cat /proc/self/uid_map\n" +
			"RUN cat /proc/self/cgroup\n" +
			"RUN wget -q -T 3 -O /dev/null http://" + ln.Addr().String() + "/ && echo network:reached || echo network:unreachable\n" +
			"COPY . /app\nWORKDIR /app\nEXPOSE 8080\nUSER 1000\n" +
			`CMD ["httpd","-f","-p","8080"]` + "\n",
		"Procfile":   "web: httpd -f -p $PORT\nworker: sleep 1000\n",
		"index.html": "hello\n",
	})
	var out syncBuffer
	img, err := e.build(t, dir, &out)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	if got, want := strings.Join(img.Cmd, " "), "httpd -f -p 8080"; got != want {
		t.Errorf("Cmd = %q, want %q", got, want)
	}
	if img.WorkingDir != "/app" || img.User != "1000" || !slices.Equal(img.ExposedPorts, []string{"8080/tcp"}) {
		t.Errorf("WorkingDir %q User %q ExposedPorts %q, want /app 1000 [8080/tcp]", img.WorkingDir, img.User, img.ExposedPorts)
	}
	if c, ok := img.Procfile.Command("worker"); !ok || c != "sleep 1000" {
		t.Errorf("the image's Procfile: worker = %q, %v", c, ok)
	}
	if !strings.Contains(out.String(), "network:unreachable") || reached.Load() {
		t.Errorf("a RUN step reached the host's 127.0.0.1:\n%s", out.String())
	}
	// The RUN step was root in a user namespace where root is the app's
	// user on the host, and no other id exists.
	if want := fmt.Sprintf("0 %d 1", e.uid); !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
		t.Errorf("uid_map %q not in the output:\n%s", want, out.String())
	}
	if e.sandbox != nil && e.sandbox.Cgroup != "" && !strings.Contains(out.String(), e.sandbox.Cgroup) {
		t.Errorf("the RUN steps ran outside the app's cgroup %s:\n%s", e.sandbox.Cgroup, out.String())
	}
	owner := -1
	filepath.WalkDir(filepath.Join(e.root, "cache"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "uid" && filepath.Base(filepath.Dir(p)) == "diff" {
			if fi, err := os.Lstat(p); err == nil {
				owner = int(fi.Sys().(*syscall.Stat_t).Uid)
			}
		}
		return nil
	})
	if owner != e.uid {
		t.Errorf("the file a RUN step wrote is owned by host uid %d, want the app's %d", owner, e.uid)
	}
	if e.pulls.Load() == 0 {
		t.Error("busybox was not pulled from the registry")
	}

	var again syncBuffer
	img2, err := e.build(t, dir, &again)
	if err != nil {
		t.Fatalf("second build: %v\n%s", err, again.String())
	}
	if img2.CachedSteps != 8 {
		t.Errorf("second build took %d steps from the cache, want 8:\n%s", img2.CachedSteps, again.String())
	}
	if a, b := diffIDs(t, img.Dir), diffIDs(t, img2.Dir); !slices.Equal(a, b) {
		t.Errorf("layers differ between two builds of one tree: %v, %v", a, b)
	}
}

func TestBuildDockerfile_AFailingStepIsNamedWithItsLastLines(t *testing.T) {
	e := newDockerfileEnv(t)
	dir := e.tree(t, files{"Dockerfile": "FROM busybox\nRUN echo first && echo compiling-part-2 && exit 3\nCMD [\"sh\"]\n"})
	var out syncBuffer
	_, err := e.build(t, dir, &out)
	if err == nil {
		t.Fatalf("build of a failing RUN succeeded:\n%s", out.String())
	}
	msg := err.Error()
	t.Logf("the pusher reads: %s", msg)
	for _, want := range []string{"STEP 2/3: RUN echo first", "exit status 3", "compiling-part-2"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if !errors.Is(err, slipway.ErrBuildFailed) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line wrapping ErrBuildFailed", msg)
	}
	if entries, _ := filepath.Glob(filepath.Join(e.root, "image-*")); len(entries) != 0 {
		t.Errorf("a failed build left %v", entries)
	}
}

func TestBuildDockerfile_AnUnpullableFromNamesTheImageAndTheRegistries(t *testing.T) {
	e := newDockerfileEnv(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	dir := e.tree(t, files{"Dockerfile": "FROM nosuchbase:1.2\nRUN echo never\n"})
	var out syncBuffer
	_, err = e.build(t, dir, &out, e.registry, Registry{Host: deadAddr, Insecure: true})
	if err == nil {
		t.Fatalf("build from an image nowhere succeeded:\n%s", out.String())
	}
	t.Logf("the pusher reads: %s", err)
	for _, want := range []string{"FROM nosuchbase:1.2", e.registry.Host + ", " + deadAddr} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestDetectWith_ADockerfileWinsUnlessAppJSONBuildsOrTheBuilderIsSet(t *testing.T) {
	custom := &slipway.AppJSON{}
	custom.Scripts.Build = "make"
	tests := []struct {
		name    string
		files   files
		app     *slipway.AppJSON
		builder string
		want    string // kind, or the start of the error
	}{
		{"dockerfile alone", files{"Dockerfile": "FROM x\n"}, nil, "", KindDockerfile},
		{"over go.mod and a Procfile", files{"Dockerfile": "FROM x\n", "go.mod": "module x\n", "Procfile": "web: x\n"}, nil, BuilderAuto, KindDockerfile},
		{"scripts.build wins", files{"Dockerfile": "FROM x\n", "Procfile": "web: x\n"}, custom, "", KindCustom},
		{"builder dockerfile over scripts.build", files{"Dockerfile": "FROM x\n"}, custom, BuilderDockerfile, KindDockerfile},
		{"builder dockerfile without one", files{"go.mod": "module x\n"}, nil, BuilderDockerfile, "the app's builder is dockerfile"},
		{"builder host ignores it", files{"Dockerfile": "FROM x\n", "go.mod": "module x\n"}, nil, BuilderHost, KindGo},
		{"no Dockerfile", files{"Procfile": "web: x\n"}, nil, "", KindProcfile},
		{"unknown builder", files{"Procfile": "web: x\n"}, nil, "pack", "unknown builder pack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			det, err := detectWith(dir, tt.app, tt.builder)
			got := det.kind
			if err != nil {
				got = err.Error()
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBuildLog_FromFailureNamesAQualifiedImagesOwnRegistry(t *testing.T) {
	l := &buildLog{}
	fmt.Fprint(l, "STEP 1/2: FROM ghcr.io/x/y:1 AS base\nError: creating build container: initializing source: pinging\n")
	err := l.failure(errors.New("exit status 125"), []Registry{{Host: "127.0.0.1:5000"}})
	if want := "FROM ghcr.io/x/y:1: the image could not be pulled from ghcr.io: creating build container"; !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to contain %q", err, want)
	}
}

// BenchmarkBuildDockerfile measures a first build (empty layer cache, base
// image pulled) and a second build of the same tree (every step cached)
// of a small Dockerfile app:
//
//	go test -run '^$' -bench BuildDockerfile -benchtime 5x ./builder
func BenchmarkBuildDockerfile(b *testing.B) {
	e := newDockerfileEnv(b)
	dir := e.tree(b, files{
		"Dockerfile": "FROM busybox\nRUN echo hi > /x\nCOPY . /app\nWORKDIR /app\nEXPOSE 8080\n" + `CMD ["httpd","-f","-p","8080"]` + "\n",
		"index.html": "hello\n",
	})
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			os.RemoveAll(filepath.Join(e.root, "cache", "buildah"))
			b.StartTimer()
			if _, err := e.build(b, dir, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		if _, err := e.build(b, dir, nil); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := e.build(b, dir, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
