package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestApps_CreateListInfoDestroy(t *testing.T) {
	s := startServer(t)
	if out, err := s.ssh(s.key, "apps:create", "made"); err != nil || !strings.Contains(out, "Created made") {
		t.Fatalf("apps:create: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "apps:create", "made"); err == nil || !strings.Contains(out, "exists already") {
		t.Errorf("second apps:create: %v\n%s", err, out)
	}
	// The router knows it exists and has nothing to serve yet, also after
	// a restart.
	for range 2 {
		if code, body := s.get("made", "/"); code != 404 || !strings.Contains(body, "has no release yet") {
			t.Errorf("an app with no release answers %d %q", code, body)
		}
		s.stop()
		s.start()
	}
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("made"), "main")
	list, err := s.ssh(s.key, "apps:list")
	if err != nil || !strings.Contains(list, "made") || !strings.Contains(list, "v1") {
		t.Errorf("apps:list: %v\n%s", err, list)
	}
	info, err := s.ssh(s.key, "apps:info", "made")
	if err != nil || !strings.Contains(info, "Live release:") || !strings.Contains(info, "v1 (") {
		t.Errorf("apps:info: %v\n%s", err, info)
	}
	procs, _ := s.ssh(s.key, "ps", "made")

	for _, bad := range [][]string{{"apps:destroy", "made"}, {"apps:destroy", "made", "--confirm", "other"}, {"apps:info", "nosuch"}} {
		if out, err := s.ssh(s.key, bad...); err == nil || strings.Contains(out, "internal error") {
			t.Errorf("ssh %v: %v\n%s", bad, err, out)
		}
	}
	s.wantServes("made", "/", "hello from v1")

	out, err := s.ssh(s.key, "apps:destroy", "made", "--confirm", "made")
	if err != nil {
		t.Fatalf("apps:destroy: %v\n%s", err, out)
	}
	if code, body := s.get("made", "/"); code != 404 || !strings.Contains(body, "No app named") {
		t.Errorf("destroyed app answers %d %q, want 404 saying there is none", code, body)
	}
	for _, p := range []string{filepath.Join(s.dataDir, "apps", "made"), filepath.Join(s.dataDir, "repos", "made.git")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there after apps:destroy", p)
		}
	}
	if list, _ := s.ssh(s.key, "apps:list"); strings.Contains(list, "made") {
		t.Errorf("apps:list still lists the destroyed app:\n%s", list)
	}
	m := regexp.MustCompile(`web\.1\s+v1 \(live\)\s+up\s+(\d+)`).FindStringSubmatch(procs)
	if m == nil {
		t.Fatalf("ps before destroy showed no running web.1:\n%s", procs)
	}
	pid, _ := strconv.Atoi(m[1])
	waitFor(t, "the destroyed app's process to end", func() bool { return syscall.Kill(pid, 0) != nil })
	// Pushing again starts a new app from v1.
	out = s.mustGit(dir, "push", s.remote("made"), "main")
	if !strings.Contains(out, "v1 is live") {
		t.Errorf("push after destroy:\n%s", out)
	}
}

// Every management command also runs locally, through the admin API.
func TestCLI_RunsCommandsThroughAdminAPI(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("local"), "main")
	out, err := s.slipwayCLI("config:set", "local", "GREETING=a b")
	if err != nil || !strings.Contains(out, "v2") {
		t.Fatalf("slipway config:set: %v\n%s", err, out)
	}
	if out, err := s.slipwayCLI("config:get", "local", "GREETING"); err != nil || out != "a b\n" {
		t.Errorf("slipway config:get = %q, %v", out, err)
	}
	if out, err := s.slipwayCLI("ps", "local"); err != nil || !strings.Contains(out, "web.1") {
		t.Errorf("slipway ps: %v\n%s", err, out)
	}
	out, err = s.slipwayCLI("ps:scale", "local", "web=1000")
	if err == nil || !strings.Contains(out, "1000") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Errorf("slipway ps:scale web=1000: %v\n%s", err, out)
	}
	if out, err := s.slipwayCLI("apps:list"); err != nil || !strings.Contains(out, "local") {
		t.Errorf("slipway apps:list: %v\n%s", err, out)
	}
}
