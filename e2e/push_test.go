package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway/slipway/internal/testutil"
)

// A user pushes v1, then v2, then a broken build: v2 keeps serving.
func TestPush_DeploysNewVersionsAndRejectsBrokenBuild(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("hello"))

	out := s.mustGit(dir, "push", "deploy", "main")
	for _, want := range []string{"remote: -----> Deploying hello", "remote: -----> v1 is live at http://hello." + testDomain} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	s.wantServes("hello", "/", "hello from v1")

	s.commit(dir, "second version", staticApp("v2"))
	out = s.mustGit(dir, "push", "deploy", "main")
	if !strings.Contains(out, "v2 is live") {
		t.Errorf("second push output lacks v2 is live:\n%s", out)
	}
	s.wantServes("hello", "/", "hello from v2")

	// A Go app that does not compile: the build fails, the push is rejected.
	// (Under -short the test ends here, skipped, as the rest compiles Go.)
	testutil.SkipIfShortCompile(t)
	s.commit(dir, "broken", map[string]string{
		"go.mod":  "module hello\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { this is not go }\n",
	})
	out, err := s.git(dir, "push", "deploy", "main")
	if err == nil {
		t.Fatalf("push of a broken build succeeded:\n%s", out)
	}
	for _, want := range []string{"[remote rejected]", "build failed", "Push rejected"} {
		if !strings.Contains(out, want) {
			t.Errorf("rejected push output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
		t.Errorf("rejected push shows a Go stack trace:\n%s", out)
	}
	s.wantServes("hello", "/", "hello from v2")
}

// A release whose web process dies or never answers is refused.
func TestPush_RejectsReleaseThatFailsHealthCheck(t *testing.T) {
	s := startServer(t, "--deploy-timeout", "5s")
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("health"))
	s.mustGit(dir, "push", "deploy", "main")

	s.commit(dir, "crashes on start", map[string]string{"Procfile": "web: echo booting v2; exit 3\n"})
	out, err := s.git(dir, "push", "deploy", "main")
	if err == nil {
		t.Fatalf("push of a crashing release succeeded:\n%s", out)
	}
	for _, want := range []string{"[remote rejected]", "exited with status 3", "booting v2"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	s.wantServes("health", "/", "hello from v1")

	// app.json health check on a path the app does not have.
	s.commit(dir, "bad health path", map[string]string{
		"Procfile": staticApp("v3")["Procfile"],
		"app.json": `{"healthchecks":{"web":[{"type":"startup","name":"ready","path":"/ready","attempts":2,"wait":1}]}}`,
	})
	out, err = s.git(dir, "push", "deploy", "main")
	if err == nil {
		t.Fatalf("push failing its app.json check succeeded:\n%s", out)
	}
	if !strings.Contains(out, `check "ready" failed 2 times`) {
		t.Errorf("push output does not name the failed check:\n%s", out)
	}
	s.wantServes("health", "/", "hello from v1")
}

func TestPush_UnknownKeyIsRefused(t *testing.T) {
	s := startServer(t)
	stranger := newKey(t, t.TempDir(), "stranger")
	dir := s.newApp(staticApp("v1"))
	out, err := s.gitWithKey(stranger, dir, "push", s.remote("intruder"), "main")
	if err == nil {
		t.Fatalf("push with an unknown key succeeded:\n%s", out)
	}
	if !strings.Contains(out, "Permission denied") {
		t.Errorf("refusal does not say permission denied:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "repos", "intruder.git")); err == nil {
		t.Error("a refused push created a repository")
	}
}

func TestSSH_RefusesBadNamesAndCommands(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		command string
		want    string
	}{
		{"git-receive-pack '../etc'", "repository path"},
		{"git-receive-pack '/srv/git/x'", "repository path"},
		{"git-receive-pack 'Upper'", "invalid app name"},
		{"git-receive-pack '9lives'", "invalid app name"},
		{"git-receive-pack 'unterminated", "unterminated"},
		{"git-upload-pack 'nosuchapp'", "app not found"},
		{"ls; rm -rf /", "bad command"},
		{"rm -rf /", "unknown command"},
		{"", "bad command"},
	} {
		out, err := s.ssh(s.key, tc.command)
		if err == nil {
			t.Errorf("ssh %q succeeded:\n%s", tc.command, out)
			continue
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("ssh %q said %q, want it to contain %q", tc.command, out, tc.want)
		}
		if lines := strings.Count(strings.TrimSpace(out), "\n"); lines > 0 {
			t.Errorf("ssh %q printed %d lines, want one:\n%s", tc.command, lines+1, out)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(s.dataDir, "repos"))
	if len(entries) != 0 {
		t.Errorf("refused commands left %d entries in repos/", len(entries))
	}
}

// Other branches are stored but not deployed; clone and fetch work.
func TestPush_OtherBranchesAreStoredAndCloneWorks(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("branches.git"))
	s.mustGit(dir, "push", "deploy", "main")

	s.mustGit(dir, "checkout", "-q", "-b", "feature")
	s.commit(dir, "feature work", staticApp("feature"))
	out := s.mustGit(dir, "push", "deploy", "feature")
	if !strings.Contains(out, "refs/heads/feature stored, not deployed") {
		t.Errorf("feature push does not say it was not deployed:\n%s", out)
	}
	s.wantServes("branches", "/", "hello from v1")

	clone := filepath.Join(t.TempDir(), "clone")
	s.mustGit(t.TempDir(), "clone", "-q", s.remote("branches"), clone)
	got, err := os.ReadFile(filepath.Join(clone, "index.html"))
	if err != nil || !strings.Contains(string(got), "hello from v1") {
		t.Errorf("clone has index.html %q, %v", got, err)
	}
	s.mustGit(clone, "fetch", "-q", "origin", "feature")
}

// A restart brings the live release back, and history of versions goes on.
func TestServe_RestartRestoresLiveRelease(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("durable"))
	s.mustGit(dir, "push", "deploy", "main")
	s.wantServes("durable", "/", "hello from v1")

	s.stop()
	s.start()
	s.wantServes("durable", "/", "hello from v1")

	s.mustGit(dir, "remote", "set-url", "deploy", s.remote("durable")) // a new ssh port
	s.commit(dir, "after restart", staticApp("v2"))
	out := s.mustGit(dir, "push", "deploy", "main")
	if !strings.Contains(out, "v2 is live") {
		t.Errorf("push after restart was not v2:\n%s", out)
	}
}

func TestRouter_UnknownAppGetsNotFoundPage(t *testing.T) {
	s := startServer(t)
	code, body := s.get("nosuchapp", "/")
	if code != http.StatusNotFound {
		t.Errorf("status = %d, want 404", code)
	}
	if !strings.Contains(body, "nosuchapp") {
		t.Errorf("404 page does not name the app: %q", body)
	}
}

// kill -9 leaves slipway no time to stop its apps. The next start ends
// what the dead one left running before it starts the live release again,
// so that no instance runs twice and a singleton worker has no twin; a
// deploy it cut off is failed, its half-built tree removed, and the next
// push deploys.
func TestServe_KillNineLeavesNoTwinAndNoHalfBuild(t *testing.T) {
	killNine(t, startServer(t))
}

// Without root there are no cgroups: slipway finds what a killed slipway
// left by the pids and start times it recorded.
func TestServe_KillNineLeavesNoTwinAsUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the test needs root to start slipway as another, unprivileged user")
	}
	killNine(t, startServerAs(t, unprivilegedUID))
}

func killNine(t *testing.T, s *server) {
	app := staticApp("v1")
	app["Procfile"] += "worker: exec sleep 4242\n"
	dir := s.newApp(app)
	s.mustGit(dir, "remote", "add", "deploy", s.remote("crashy"))
	s.mustGit(dir, "push", "deploy", "main")
	// The worker starts beside the web pool: the push may answer before
	// it has exec'd sleep.
	waitFor(t, "the worker to start", func() bool { return s.running("sleep 4242") })
	if data, err := os.ReadFile(filepath.Join(s.dataDir, "slipway.pid")); err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(s.cmd.Process.Pid) {
		t.Errorf("slipway.pid = %q, %v; want %d", data, err, s.cmd.Process.Pid)
	}

	// A push whose build waits on a gate, cut off by kill -9.
	gateDir := t.TempDir()
	os.Chmod(gateDir, 0o755) // the build, as whatever user, must see the gate
	gate := filepath.Join(gateDir, "gate")
	slow := staticApp("v2")
	slow["app.json"] = `{"scripts":{"build":"while [ ! -e ` + gate + ` ]; do sleep 0.05; done"}}`
	s.commit(dir, "slow build", slow)
	pushed := make(chan error, 1)
	go func() {
		_, err := s.git(dir, "push", "deploy", "main")
		pushed <- err
	}()
	waitFor(t, "the build to start", func() bool { return strings.Contains(s.logText(), `msg="build started" app=crashy release=v2`) })
	before := s.appPIDs("sleep 4242", "http.server")
	s.cmd.Process.Kill()
	s.cmd.Wait()
	if err := <-pushed; err == nil {
		t.Error("the cut-off push was reported as accepted")
	}

	s.start()
	if n := s.countRunning("sleep 4242"); n != 1 {
		t.Errorf("%d workers run after the restart, want 1", n)
	}
	if after := s.appPIDs("sleep 4242", "http.server"); !slices.Equal(after, before) {
		t.Errorf("the live release's processes were not taken back: before %v, after %v", before, after)
	}
	s.wantServes("crashy", "/", "hello from v1")
	out, _ := s.ssh(s.key, "releases", "crashy", "--json")
	if !strings.Contains(out, `"failure": "interrupted: slipway stopped during the deploy"`) {
		t.Errorf("the cut-off release is not failed as interrupted:\n%s", out)
	}
	if left, _ := filepath.Glob(filepath.Join(s.dataDir, "apps", "crashy", "releases", ".v*")); len(left) != 0 {
		t.Errorf("half-built trees left: %v", left)
	}
	os.WriteFile(gate, nil, 0o644)
	s.mustGit(dir, "remote", "set-url", "deploy", s.remote("crashy"))
	if out := s.mustGit(dir, "push", "deploy", "main"); !strings.Contains(out, "v3 is live") {
		t.Errorf("the next push did not go live:\n%s", out)
	}
	s.wantServes("crashy", "/", "hello from v2")
}

// A second slipway on a data dir that one serves would take the first
// one's apps for leftovers: it refuses to start, saying why.
func TestServe_RefusesASecondSlipwayOnOneDataDir(t *testing.T) {
	s := startServer(t)
	cmd := exec.Command(slipwayBin, "serve", "--data", s.dataDir, "--ssh-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HOME="+s.home)
	out, err := cmd.CombinedOutput()
	want := fmt.Sprintf("another slipway (pid %d) serves the data dir", s.cmd.Process.Pid)
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("a second slipway: %v\n%s\nwant %q", err, out, want)
	}
	if code, _ := s.get("nope", "/"); code != 404 { // the first one still answers, with its 404 page
		t.Errorf("the first slipway answered %d", code)
	}
}

// Go's own HTTP server stays a flag away (--http-server net/http), for an
// operator who needs it: a push and a request work as with slipway's.
// --upstream-transport lean, the one transport left, is still taken.
func TestServe_NetHTTPServer(t *testing.T) {
	s := startServer(t, "--http-server", "net/http", "--upstream-transport", "lean")
	dir := s.newApp(staticApp("v1"))
	if out := s.mustGit(dir, "push", s.remote("std"), "main"); !strings.Contains(out, "v1 is live") {
		t.Fatalf("push:\n%s", out)
	}
	s.wantServes("std", "/", "hello from v1")
}
