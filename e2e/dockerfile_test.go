package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/slipway/slipway/images"
	"github.com/slipway/slipway/internal/testutil"
)

// dockerfileApp is a Dockerfile app on the busybox base the test imports:
// busybox's httpd serves index.html on $PORT.
func dockerfileApp(version string) map[string]string {
	return map[string]string{
		"Dockerfile": "FROM busybox:latest\n" +
			"RUN mkdir -p /www && echo built > /www/built.txt\n" +
			"COPY index.html /www/index.html\n" +
			`CMD ["/bin/sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"]` + "\n",
		"index.html": "<h1>hello from " + version + "</h1>\n",
	}
}

// startImageServer starts a slipway for image releases, with the test's
// busybox imported as busybox:latest.
func startImageServer(t *testing.T) *server {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("image releases run with runc, which needs root")
	}
	testutil.NeedTool(t, "buildah", "buildah")
	testutil.NeedTool(t, "runc", "runc")
	testutil.NeedTool(t, "busybox", "busybox-static")
	s := startServer(t)
	importBusybox(t, s)
	return s
}

// importBusybox imports the test's busybox-static image as busybox:latest.
func importBusybox(t *testing.T, s *server) {
	t.Helper()
	base, err := images.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("busybox:latest")
	var tar bytes.Buffer
	if err := tarball.Write(tag, base, &tar); err != nil {
		t.Fatal(err)
	}
	if out, err := s.sshInput(tar.Bytes(), "images:import"); err != nil {
		t.Fatalf("images:import: %v\n%s", err, out)
	}
}

// psPIDs returns the pids `ps NAME` shows.
func psPIDs(s *server, app string) []string {
	return regexp.MustCompile(`(?m)\b(\d{2,})\s+\d{4,5}\b`).FindAllString(s.mustSSH("ps", app), -1)
}

// A Dockerfile app built FROM an imported image deploys, serves,
// redeploys under load with no request failed and no session flipped,
// rolls back, and keeps its processes across an upgrade and kill -9 of
// slipway; its image is NAME:vN in the registry.
func TestDockerfile_BuildsRunsRedeploysRollsBack(t *testing.T) {
	s := startImageServer(t)
	dir := s.newApp(dockerfileApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("docked"))
	out := s.mustGit(dir, "push", "deploy", "main")
	for _, want := range []string{"Dockerfile app", "STEP", "v1 is live"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the push's output lacks %q:\n%s", want, out)
		}
	}
	s.wantServes("docked", "/", "hello from v1")
	s.wantServes("docked", "/built.txt", "built")
	// run: a one-off process in the image, as the app's user, with its
	// HOME and config.
	s.mustSSH("config:set", "docked", "GREETING=hi")
	waitFor(t, "docked:v2, the config release's image, in images:list", func() bool { return strings.Contains(s.mustSSH("images:list"), "docked:v2") })
	if out := s.mustSSH("run", "docked", "--", "sh", "-c", "ls -la /www; cat /www/index.html; echo cat=$?; id -u; echo $HOME $GREETING; touch $HOME/x && echo home-ok"); !strings.Contains(out, "hello from v1") ||
		!strings.Contains(out, "/home/app hi") || !strings.Contains(out, "home-ok") || strings.Contains(out, "\n0\n") {
		t.Errorf("run in the image:\n%s", out)
	}
	if list := s.mustSSH("images:list"); !strings.Contains(list, "docked:v1") {
		t.Errorf("images:list lacks docked:v1:\n%s", list)
	}

	load := s.startLoad(t, "docked", 4)
	waitFor(t, "the first sessions", func() bool { return load.requests.Load() > 20 })
	s.commit(dir, "v2", dockerfileApp("v2"))
	if out := s.mustGit(dir, "push", "deploy", "main"); !strings.Contains(out, "v3 is live") || !strings.Contains(out, "Using cache") {
		t.Errorf("the second push did not go live from the layer cache:\n%s", out)
	}
	load.end(t, s) // no request failed, no session saw two releases
	s.wantServes("docked", "/", "hello from v2")
	s.mustSSH("rollback", "docked", "v1")
	s.wantServes("docked", "/", "hello from v1")

	before := psPIDs(s, "docked")
	if len(before) == 0 {
		t.Fatalf("ps shows no pid:\n%s", s.mustSSH("ps", "docked"))
	}
	s.upgrade(func(pid int) { syscall.Kill(pid, syscall.SIGHUP) })
	if after := psPIDs(s, "docked"); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("pids changed across an upgrade: %v, then %v", before, after)
	}
	s.wantServes("docked", "/", "hello from v1")
	syscall.Kill(s.pid, syscall.SIGKILL)
	waitFor(t, "the killed slipway to be gone", func() bool { return !processAlive(s.pid) })
	s.start()
	s.wantServes("docked", "/", "hello from v1")
	if after := psPIDs(s, "docked"); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("pids changed across kill -9: %v, then %v", before, after)
	}
}

// A Dockerfile whose RUN fails is refused with the step and its last
// lines; a FROM that no registry has names the image; the live release
// keeps serving.
func TestDockerfile_BadInputGetsOneClearLine(t *testing.T) {
	s := startImageServer(t)
	dir := s.newApp(dockerfileApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("bad"))
	s.mustGit(dir, "push", "deploy", "main")

	broken := dockerfileApp("v2")
	broken["Dockerfile"] = "FROM busybox:latest\nRUN echo compiling && exit 3\n"
	s.commit(dir, "broken", broken)
	out, err := s.git(dir, "push", "deploy", "main")
	if err == nil || !strings.Contains(out, "RUN echo compiling") || !strings.Contains(out, "compiling") {
		t.Errorf("a failing RUN: %v\n%s", err, out)
	}
	missing := dockerfileApp("v3")
	missing["Dockerfile"] = "FROM nosuchbase:1.0\nCMD [\"true\"]\n"
	s.commit(dir, "missing base", missing)
	out, err = s.git(dir, "push", "deploy", "main")
	if err == nil || !strings.Contains(out, "nosuchbase:1.0") {
		t.Errorf("a FROM nobody has: %v\n%s", err, out)
	}
	s.wantServes("bad", "/", "hello from v1")
}

// git:from-image deploys an imported image as a release with history;
// bad input gets one line and the live release keeps serving.
func TestDockerfile_GitFromImage(t *testing.T) {
	s := startImageServer(t)
	// An image that serves, made from busybox, imported as web:1.
	var files bytes.Buffer
	tw := tar.NewWriter(&files)
	page := []byte("<h1>hello from the image</h1>\n")
	tw.WriteHeader(&tar.Header{Name: "www/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "www/index.html", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(page))})
	tw.Write(page)
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(files.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	base, err := images.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cfg := cf.Config
	cfg.Cmd = []string{"/bin/sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"}
	if img, err = mutate.Config(img, cfg); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("web:1")
	var tarred bytes.Buffer
	if err := tarball.Write(tag, img, &tarred); err != nil {
		t.Fatal(err)
	}
	if out, err := s.sshInput(tarred.Bytes(), "images:import"); err != nil {
		t.Fatalf("images:import: %v\n%s", err, out)
	}
	s.mustSSH("apps:create", "fromimg")
	s.mustSSH("apps:create", "other") // whose images fromimg may not run
	out := s.mustSSH("git:from-image", "fromimg", "web:1")
	if !strings.Contains(out, "v1 is live") {
		t.Fatalf("git:from-image:\n%s", out)
	}
	s.wantServes("fromimg", "/", "hello from the image")
	if rels := s.mustSSH("releases", "fromimg"); !strings.Contains(rels, "git:from-image web:1") {
		t.Errorf("the history does not say where the release came from:\n%s", rels)
	}
	if list := s.mustSSH("images:list"); !strings.Contains(list, "fromimg:v1") {
		t.Errorf("images:list lacks fromimg:v1:\n%s", list)
	}
	for _, bad := range [][]string{{"fromimg", "nosuch:1"}, {"fromimg", "Bad Name"}, {"nosuchapp", "web:1"}, {"fromimg", "other:v1"}} {
		out, err := s.ssh(s.key, append([]string{"git:from-image"}, bad...)...)
		if err == nil || strings.Count(strings.TrimSpace(out), "\n") > 0 || strings.Contains(out, "internal error") {
			t.Errorf("git:from-image %q: %v\n%q: want one clear line", bad, err, out)
		}
	}
	s.wantServes("fromimg", "/", "hello from the image")
}

// A Procfile in the image's WORKDIR gives its process types, as Dokku
// reads it: the release phase runs in the image before the switch, and
// one that fails keeps the live release.
func TestDockerfile_ProcfileInTheImage(t *testing.T) {
	s := startImageServer(t)
	app := dockerfileApp("v1")
	app["Dockerfile"] = "FROM busybox:latest\nWORKDIR /srv\nCOPY index.html /www/index.html\nCOPY Procfile /srv/Procfile\n"
	app["Procfile"] = "web: exec httpd -f -p 127.0.0.1:$PORT -h /www\nrelease: echo released $SLIPWAY_RELEASE > $HOME/released\n"
	dir := s.newApp(app)
	s.mustGit(dir, "remote", "add", "deploy", s.remote("procs"))
	s.mustGit(dir, "push", "deploy", "main")
	s.wantServes("procs", "/", "hello from v1")
	if out := s.mustSSH("run", "procs", "--", "cat", "/home/app/released"); !strings.Contains(out, "released v1") {
		t.Errorf("the release phase did not run in the image:\n%s", out)
	}
	bad := dockerfileApp("v2")
	bad["Dockerfile"] = app["Dockerfile"]
	bad["Procfile"] = "web: exec httpd -f -p 127.0.0.1:$PORT -h /www\nrelease: echo migrating; exit 4\n"
	s.commit(dir, "a failing release phase", bad)
	if out, err := s.git(dir, "push", "deploy", "main"); err == nil || !strings.Contains(out, "migrating") {
		t.Errorf("a failing release phase: %v\n%s", err, out)
	}
	s.wantServes("procs", "/", "hello from v1")
}
