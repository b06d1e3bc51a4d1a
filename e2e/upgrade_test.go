package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/netfilter"
)

// load sends requests to app through the router from sessions that keep
// their cookie, until stop: it counts the requests, the failures and the
// sessions that saw two releases.
type load struct {
	requests, failed atomic.Int64
	mu               sync.Mutex
	flipped          []string
	errs             []string
	stop             chan struct{}
	wg               sync.WaitGroup
}

func (s *server) startLoad(t *testing.T, app string, sessions int) *load {
	l := &load{stop: make(chan struct{})}
	re := regexp.MustCompile(`hello from (v\d+)`)
	for i := range sessions {
		client := newClient(t)
		l.wg.Go(func() {
			first := ""
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+s.httpAddr+"/", nil)
				req.Host = app + "." + testDomain
				l.requests.Add(1)
				resp, err := client.Do(req)
				if err != nil {
					l.fail(fmt.Sprintf("session %d: %v", i, err))
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				m := re.FindStringSubmatch(string(body))
				if resp.StatusCode != http.StatusOK || m == nil {
					l.fail(fmt.Sprintf("session %d: %d %q", i, resp.StatusCode, body))
					continue
				}
				if first == "" {
					first = m[1]
				} else if m[1] != first {
					l.mu.Lock()
					l.flipped = append(l.flipped, fmt.Sprintf("session %d: %s then %s", i, first, m[1]))
					l.mu.Unlock()
					first = m[1]
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return l
}

func (l *load) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.errs) < 5 {
		l.errs = append(l.errs, msg)
	}
	l.mu.Unlock()
}

// end stops the load and fails the test on any failed request or flipped
// session.
func (l *load) end(t *testing.T, s *server) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if l.requests.Load() == 0 {
		t.Fatal("the load sent no request")
	}
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed: %v\n%s", n, l.requests.Load(), l.errs, s.logText())
	}
	if len(l.flipped) > 0 {
		t.Errorf("%d sessions saw two releases: %v", len(l.flipped), l.flipped)
	}
	t.Logf("%d requests, %d failed, %d sessions flipped", l.requests.Load(), l.failed.Load(), len(l.flipped))
}

// upgradeCommand runs `slipway upgrade` against s and returns its output.
func (s *server) upgradeCommand() (string, error) {
	cmd := exec.Command(slipwayBin, "upgrade")
	cmd.Env = append(os.Environ(), "SLIPWAY_ADMIN_ADDR="+s.adminAddr, "SLIPWAY_DATA="+s.dataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// An upgrade in place, by SIGHUP and by `slipway upgrade`, under load with
// a live and a draining pool: no request fails, no session moves to
// another release, every app process is the same one, and a push works
// through the new slipway.
func TestUpgrade_UnderLoadKeepsEveryRequestSessionAndProcess(t *testing.T) {
	s := startServer(t)
	app := staticApp("v1")
	app["Procfile"] += "worker: exec sleep 4343\n"
	dir := s.newApp(app)
	s.mustGit(dir, "remote", "add", "deploy", s.remote("shop"))
	s.mustGit(dir, "push", "deploy", "main")
	if out, err := s.ssh(s.key, "ps:scale", "shop", "web=2"); err != nil {
		t.Fatalf("ps:scale: %v\n%s", err, out)
	}
	pinned := s.startLoad(t, "shop", 4) // sessions on v1, which will drain
	waitFor(t, "the first sessions", func() bool { return pinned.requests.Load() > 20 })
	v2 := staticApp("v2")
	v2["Procfile"] += "worker: exec sleep 4343\n"
	s.commit(dir, "v2", v2)
	s.mustGit(dir, "push", "deploy", "main")
	if got := s.psReleases("shop"); !slices.Equal(got, []string{"v2 (live)", "v1 (draining)"}) {
		t.Fatalf("ps before the upgrade: %v", got)
	}
	fresh := s.startLoad(t, "shop", 4) // sessions on v2
	before := s.appPIDs("http.server", "sleep 4343")
	if len(before) < 5 { // 2 web of v2, 2 of v1, one worker
		t.Fatalf("app processes before the upgrade: %v", before)
	}

	s.upgrade(func(pid int) { syscall.Kill(pid, syscall.SIGHUP) })
	s.upgrade(func(int) {
		out, err := s.upgradeCommand()
		if err != nil || !strings.Contains(out, "slipway upgraded in place") {
			t.Errorf("slipway upgrade: %v\n%s", err, out)
		}
	})
	waitFor(t, "requests through the new slipway", func() bool { return fresh.requests.Load() > 200 })
	pinned.end(t, s)
	fresh.end(t, s)
	if after := s.appPIDs("http.server", "sleep 4343"); !slices.Equal(after, before) {
		t.Errorf("app processes changed across the upgrades:\nbefore %v\nafter  %v\n%s", before, after, s.logText())
	}
	if n := s.countRunning("sleep 4343"); n != 1 {
		t.Errorf("%d workers run, want 1", n)
	}
	if got := s.psReleases("shop"); !slices.Equal(got, []string{"v2 (live)", "v1 (draining)"}) {
		t.Errorf("ps after the upgrades: %v", got)
	}
	s.commit(dir, "v3", staticApp("v3"))
	if out := s.mustGit(dir, "push", "deploy", "main"); !strings.Contains(out, "v3 is live") {
		t.Errorf("a push through the new slipway did not go live:\n%s", out)
	}
	s.wantServes("shop", "/", "hello from v3")
	if os.Getenv("DEBUG_LOG") != "" {
		t.Log(s.logText())
	}
}

// An upgrade to an executable that fails at once leaves the running
// slipway serving; `slipway upgrade` says why and exits non-zero. The
// next upgrade, to a good executable, works.
func TestUpgrade_FailedNewExecutableLeavesTheOldOneServing(t *testing.T) {
	iptables := "" // as root, the rule that keeps apps off is iptables'
	if os.Geteuid() == 0 {
		iptables = testutil.NeedTool(t, "iptables", "iptables", "/usr/sbin/iptables")
	}
	bin := filepath.Join(t.TempDir(), "slipway")
	good, err := os.ReadFile(slipwayBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, good, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(bin), 0o755)
	s := newServer(t, os.Geteuid())
	s.bin = bin
	s.start()
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("steady"))
	s.mustGit(dir, "push", "deploy", "main")
	before := s.appPIDs("http.server")
	old := s.pid

	// A new "version" that exits at once.
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'broken build' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := s.upgradeCommand()
	if err == nil || !strings.Contains(out, "upgrade failed, the running slipway keeps serving") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Errorf("slipway upgrade to a broken executable: %v, want one line saying it failed\n%s", err, out)
	}
	if !processAlive(old) {
		t.Fatal("the old slipway exited")
	}
	t.Logf("slipway upgrade said: %s", out)
	s.wantServes("steady", "/", "hello from v1")
	if out, err := s.ssh(s.key, "ps", "steady"); err != nil || !strings.Contains(out, "v1 (live)") {
		t.Errorf("ssh ps after the failed upgrade: %v\n%s", err, out)
	}
	// SIGHUP to the same broken executable: the same, in the log.
	syscall.Kill(old, syscall.SIGHUP)
	waitFor(t, "the failed SIGHUP upgrade in the log", func() bool { return strings.Count(s.logText(), "upgrade failed") >= 2 })
	s.wantServes("steady", "/", "hello from v1")

	os.Remove(bin)
	if err := os.WriteFile(bin, good, 0o755); err != nil {
		t.Fatal(err)
	}
	s.upgrade(func(pid int) { syscall.Kill(pid, syscall.SIGHUP) })
	if after := s.appPIDs("http.server"); !slices.Equal(after, before) {
		t.Errorf("app processes changed: before %v, after %v", before, after)
	}
	// The process that handed over left the new one its admin socket and,
	// as root, the rule that keeps apps off.
	waitFor(t, "the old slipway to exit", func() bool { return !processAlive(old) })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if out, err := s.localCLI(ctx, "apps:list"); err != nil || !strings.Contains(string(out), "steady") {
		t.Errorf("the local CLI over the admin socket after the upgrade: %v\n%s", err, out)
	}
	if iptables != "" && exec.Command(iptables, "-w", "5", "-L", netfilter.ChainFor(s.dataDir), "-n").Run() != nil {
		t.Error("the rule that keeps apps off slipway's listeners is gone after the upgrade")
	}
	s.commit(dir, "v2", staticApp("v2"))
	if out := s.mustGit(dir, "push", "deploy", "main"); !strings.Contains(out, "v2 is live") {
		t.Errorf("a push after the upgrade did not go live:\n%s", out)
	}
}

// kill -9 of slipway with a live and a draining pool, then a new start:
// every app process is taken back (same pids), the session pinned to the
// draining release stays on it, new sessions get the live one, and the
// singleton worker runs once.
func TestServe_KillNineThenStartAdoptsPoolsPinsAndWorkers(t *testing.T) {
	s := startServer(t)
	app := staticApp("v1")
	app["Procfile"] += "worker: exec sleep 4545\n"
	dir := s.newApp(app)
	s.mustGit(dir, "remote", "add", "deploy", s.remote("keep"))
	s.mustGit(dir, "push", "deploy", "main")
	pinned := newClient(t)
	if got := s.release(pinned, "keep"); got != "v1" {
		t.Fatalf("first session got %s", got)
	}
	v2 := staticApp("v2")
	v2["Procfile"] += "worker: exec sleep 4545\n"
	s.commit(dir, "v2", v2)
	s.mustGit(dir, "push", "deploy", "main")
	before := s.appPIDs("http.server", "sleep 4545")

	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.start()
	if after := s.appPIDs("http.server", "sleep 4545"); !slices.Equal(after, before) {
		t.Errorf("app processes changed across kill -9 and start:\nbefore %v\nafter  %v\n%s", before, after, s.logText())
	}
	if n := s.countRunning("sleep 4545"); n != 1 {
		t.Errorf("%d workers run, want 1", n)
	}
	if got := s.release(pinned, "keep"); got != "v1" {
		t.Errorf("the session pinned to v1 got %s after the restart", got)
	}
	if got := s.release(newClient(t), "keep"); got != "v2" {
		t.Errorf("a new session got %s, want v2", got)
	}
	if got := s.psReleases("keep"); !slices.Equal(got, []string{"v2 (live)", "v1 (draining)"}) {
		t.Errorf("ps after the restart: %v", got)
	}
	ps, _ := s.ssh(s.key, "ps", "keep")
	for _, line := range strings.Split(ps, "\n") {
		if strings.HasPrefix(line, "worker.1") && !strings.Contains(line, " - ") {
			t.Errorf("ps shows a port for a worker: %q", line)
		}
	}
	// The adopted instances are supervised: one that dies is started again.
	out, _ := s.ssh(s.key, "logs", "keep", "-n", "1000")
	if !strings.Contains(out, "web.1 v2") {
		t.Errorf("the app log lacks the live instances' output:\n%s", out)
	}
}

// kill -9 during each step of a deploy: after the next start that release
// is failed as interrupted, none of its processes or half-made directories
// is left, the live release serves on, and the next push deploys.
func TestServe_KillNineDuringEachDeployStep(t *testing.T) {
	for _, step := range []struct {
		name  string
		files func(gate string) map[string]string
		// started is the log line that says the step is under way.
		started string
	}{
		{"release phase", func(gate string) map[string]string {
			a := staticApp("v2")
			a["Procfile"] += "release: while [ ! -e " + gate + " ]; do sleep 0.05; done # cut-release\n"
			return a
		}, "Running release command"},
		{"health check", func(gate string) map[string]string {
			a := staticApp("v2")
			a["Procfile"] = "web: while [ ! -e " + gate + " ]; do sleep 0.05; done # cut-health\n"
			return a
		}, "Starting web.1"},
	} {
		t.Run(step.name, func(t *testing.T) {
			s := startServer(t)
			dir := s.newApp(staticApp("v1"))
			s.mustGit(dir, "remote", "add", "deploy", s.remote("cut"))
			s.mustGit(dir, "push", "deploy", "main")
			gateDir := t.TempDir()
			os.Chmod(gateDir, 0o755)
			gate := filepath.Join(gateDir, "gate")
			s.commit(dir, "v2", step.files(gate))
			var out strings.Builder
			pushed := make(chan error, 1)
			go func() {
				cmd := testutil.Command(t, 10*time.Minute, "git", "push", "deploy", "main")
				cmd.Dir, cmd.Env = dir, s.gitEnv(s.key)
				cmd.Stdout, cmd.Stderr = &out, &out
				pushed <- cmd.Run()
			}()
			marker := "cut-" + strings.Fields(step.name)[0]
			waitFor(t, step.name+" to start", func() bool { return s.countRunning(marker) > 0 })
			s.cmd.Process.Kill()
			s.cmd.Wait()
			select {
			case err := <-pushed:
				if err == nil {
					t.Errorf("the cut-off push was reported as accepted:\n%s", out.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the pusher's git hangs after slipway was killed")
			}

			s.start()
			if n := s.countRunning(marker); n != 0 {
				t.Errorf("%d processes of the cut-off release run after the start", n)
			}
			s.wantServes("cut", "/", "hello from v1")
			rels, _ := s.ssh(s.key, "releases", "cut", "--json")
			if !strings.Contains(rels, `"failure": "interrupted: slipway stopped during the deploy"`) {
				t.Errorf("the cut-off release is not failed as interrupted:\n%s", rels)
			}
			if left, _ := filepath.Glob(filepath.Join(s.dataDir, "apps", "cut", "tmp", "v2.*")); len(left) != 0 {
				t.Errorf("temporary dirs of the cut-off release left: %v", left)
			}
			os.WriteFile(gate, nil, 0o644)
			s.commit(dir, "v3", staticApp("v3"))
			s.mustGit(dir, "remote", "set-url", "deploy", s.remote("cut"))
			if out := s.mustGit(dir, "push", "deploy", "main"); !strings.Contains(out, "v3 is live") {
				t.Errorf("the next push did not go live:\n%s", out)
			}
		})
	}
}

// An upgrade asked for during a deploy lets the deploy finish in the old
// process first; a push that arrives meanwhile waits its turn and is
// deployed by the new process.
func TestUpgrade_WaitsForTheDeployInProgress(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("busy"))
	s.mustGit(dir, "push", "deploy", "main")
	other := s.newApp(staticApp("other v1"))
	s.mustGit(other, "remote", "add", "deploy", s.remote("other"))

	gateDir := t.TempDir()
	os.Chmod(gateDir, 0o755)
	gate := filepath.Join(gateDir, "gate")
	slow := staticApp("v2")
	slow["app.json"] = `{"scripts":{"build":"while [ ! -e ` + gate + ` ]; do sleep 0.05; done"}}`
	s.commit(dir, "slow build", slow)
	first := make(chan string, 1)
	go func() { out, _ := s.git(dir, "push", "deploy", "main"); first <- out }()
	waitFor(t, "the build to start", func() bool { return strings.Contains(s.logText(), `msg="build started" app=busy release=v2`) })

	old := s.pid
	syscall.Kill(old, syscall.SIGHUP)
	waitFor(t, "the upgrade to start", func() bool { return strings.Contains(s.logText(), "upgrade: handing over") })
	second := make(chan string, 1)
	go func() { out, _ := s.git(other, "push", "deploy", "main"); second <- out }()
	if strings.Count(s.logText(), "slipway ready") != 1 {
		t.Fatal("the new slipway started while a deploy ran")
	}
	os.WriteFile(gate, nil, 0o644)
	if out := <-first; !strings.Contains(out, "v2 is live") {
		t.Errorf("the deploy in progress did not finish:\n%s", out)
	}
	if out := <-second; !strings.Contains(out, "v1 is live") {
		t.Errorf("the push that arrived during the upgrade was not deployed:\n%s", out)
	}
	waitFor(t, "the old slipway to exit", func() bool { return !processAlive(old) })
	s.cmd.Wait()
	data, _ := os.ReadFile(filepath.Join(s.dataDir, "slipway.pid"))
	fmt.Sscan(string(data), &s.pid)
	if s.pid == old {
		t.Fatal("slipway.pid still names the old process")
	}
	log := s.logText()
	ready := strings.LastIndex(log, "slipway ready")
	if live := strings.Index(log, `msg="release live" component=releaser app=other`); live < ready {
		t.Errorf("the push that arrived during the upgrade was not deployed by the new slipway\n%s", log)
	}
	s.wantServes("busy", "/", "hello from v2")
	s.wantServes("other", "/", "hello from other v1")
}

// kill -9 after a push's release went live, before git heard the hook's
// answer and moved the branch: the pusher is told the push failed, but
// the push has happened (the switch is its commit point), so the next
// start moves the branch to the live release's commit, the pusher's next
// fetch sees it, and the activity list says the connection was cut.
func TestServe_KillNineAfterTheSwitchMovesTheBranch(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "answer")
	s := newServer(t, os.Geteuid())
	s.prepare = func(cmd *exec.Cmd) { cmd.Env = append(cmd.Env, "SLIPWAY_TEST_HOLD_PUSH_ANSWER="+gate) }
	os.WriteFile(gate, nil, 0o644) // the first push answers at once
	s.start()
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("cut"))
	s.mustGit(dir, "push", "deploy", "main")
	os.Remove(gate)

	s.commit(dir, "v2", staticApp("v2"))
	want := strings.TrimSpace(s.mustGit(dir, "rev-parse", "HEAD"))
	pushed := make(chan error, 1)
	go func() {
		_, err := s.git(dir, "push", "deploy", "main")
		pushed <- err
	}()
	waitFor(t, "the push's answer to be held after the switch", func() bool {
		return strings.Count(s.logText(), "test hold: the push's answer waits") == 2 // the first push's, then this one's
	})
	s.wantServes("cut", "/", "hello from v2")
	s.cmd.Process.Kill()
	s.cmd.Wait()
	select {
	case err := <-pushed:
		if err == nil {
			t.Error("the cut-off push was reported as accepted")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pusher's git hangs after slipway was killed")
	}

	os.WriteFile(gate, nil, 0o644)
	s.start()
	s.wantServes("cut", "/", "hello from v2")
	s.mustGit(dir, "remote", "set-url", "deploy", s.remote("cut")) // the new process's ssh port
	s.mustGit(dir, "fetch", "deploy")
	if got := strings.TrimSpace(s.mustGit(dir, "rev-parse", "deploy/main")); got != want {
		t.Errorf("after the start the branch is at %s, want the live commit %s", got, want)
	}
	token, _ := os.ReadFile(filepath.Join(s.dataDir, "admin_token"))
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.adminAddr+"/apps/cut", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	if res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req); err != nil {
		t.Error(err)
	} else {
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(page), "its connection was cut") {
			t.Errorf("the app page's activity does not say the push's connection was cut (%d)", res.StatusCode)
		}
	}
	// `releases` says it went live and its push was cut.
	if out := s.mustSSH("releases", "cut"); !regexp.MustCompile(`\* +v2 +live \(push connection cut; branch moved at restart\)`).MatchString(out) {
		t.Errorf("releases does not say v2 went live with its push cut:\n%s", out)
	}
	// The next push builds on it as on any.
	s.commit(dir, "v3", staticApp("v3"))
	if out := s.mustGit(dir, "push", "deploy", "main"); !strings.Contains(out, "v3 is live") {
		t.Errorf("the next push did not go live:\n%s", out)
	}
}
