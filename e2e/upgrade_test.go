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
)

// appPIDs returns the pids of the processes whose command line holds one
// of markers, sorted.
func appPIDs(markers ...string) []string {
	var pids []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		line := strings.ReplaceAll(string(b), "\x00", " ")
		for _, m := range markers {
			if strings.Contains(line, m) {
				pids = append(pids, filepath.Base(filepath.Dir(p)))
				break
			}
		}
	}
	slices.Sort(pids)
	return pids
}

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
	before := appPIDs("http.server", "sleep 4343")
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
	if after := appPIDs("http.server", "sleep 4343"); !slices.Equal(after, before) {
		t.Errorf("app processes changed across the upgrades:\nbefore %v\nafter  %v\n%s", before, after, s.logText())
	}
	if n := countRunning("sleep 4343"); n != 1 {
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
	before := appPIDs("http.server")
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
	if after := appPIDs("http.server"); !slices.Equal(after, before) {
		t.Errorf("app processes changed: before %v, after %v", before, after)
	}
	s.commit(dir, "v2", staticApp("v2"))
	if out := s.mustGit(dir, "push", "deploy", "main"); !strings.Contains(out, "v2 is live") {
		t.Errorf("a push after the upgrade did not go live:\n%s", out)
	}
}
