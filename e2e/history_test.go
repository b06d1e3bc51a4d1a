package e2e

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// releasesJSON runs `ssh releases NAME --json`.
func (s *server) releasesJSON(app string) []map[string]any {
	s.t.Helper()
	out, err := s.ssh(s.key, "releases", app, "--json")
	if err != nil {
		s.t.Fatalf("ssh releases --json: %v\n%s", err, out)
	}
	var rels []map[string]any
	if err := json.Unmarshal([]byte(out), &rels); err != nil {
		s.t.Fatalf("releases --json is not JSON: %v\n%s", err, out)
	}
	return rels
}

// history summarises releases as "v4:live:rollback v3:draining:push …".
func history(rels []map[string]any) string {
	var parts []string
	for _, r := range rels {
		parts = append(parts, "v"+jsonNum(r["version"])+":"+r["status"].(string)+":"+r["kind"].(string))
	}
	return strings.Join(parts, " ")
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// slipwayCLI runs the local slipway binary against s's admin API.
func (s *server) slipwayCLI(args ...string) (string, error) {
	cmd := exec.Command(slipwayBin, args...)
	cmd.Env = append(cmd.Environ(), "SLIPWAY_ADMIN_ADDR="+s.adminAddr, "SLIPWAY_DATA="+s.dataDir, "SLIPWAY_ADMIN_TOKEN=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Push v1, v2, v3; `ssh rollback` makes v4 (v2's code) live with v3
// draining; the history survives a restart; the local CLI rolls back too.
func TestRollback_OverSSHAndLocally(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("rb"))
	for _, v := range []string{"v1", "v2", "v3"} {
		s.commit(dir, "release "+v, staticApp(v))
		s.mustGit(dir, "push", "deploy", "main")
	}
	pinned := newClient(t)
	if got := s.release(pinned, "rb"); got != "v3" {
		t.Fatalf("before rollback: %s", got)
	}

	out, err := s.ssh(s.key, "rollback", "rb")
	if err != nil {
		t.Fatalf("ssh rollback: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Rolling back rb to v2 as v4") {
		t.Errorf("rollback output:\n%s", out)
	}
	s.wantServes("rb", "/", "hello from v2")
	if got := s.release(pinned, "rb"); got != "v3" {
		t.Errorf("a v3 session got %s after the rollback, want v3 (draining)", got)
	}
	// v1 and v2 served no request, so no session could come back to them:
	// each was retired as soon as it stopped being live (v4 is v2's code
	// in a fresh pool). v3 drains for its pinned session.
	want := "v4:live:rollback v3:draining:push v2:retired:push v1:retired:push"
	waitFor(t, "the history "+want, func() bool { return history(s.releasesJSON("rb")) == want })

	// The table marks the live release.
	table, err := s.ssh(s.key, "releases", "rb")
	if err != nil || !regexp.MustCompile(`(?m)^\*\s+v4\s+live\s+rollback`).MatchString(table) {
		t.Errorf("releases table does not mark v4 live (%v):\n%s", err, table)
	}

	// Refusals are one clear line.
	for _, bad := range [][]string{{"rollback", "rb", "v4"}, {"rollback", "rb", "v99"}, {"rollback", "nosuch"}, {"rollback", "rb", "vX"}} {
		out, err := s.ssh(s.key, bad...)
		if err == nil || strings.Contains(out, "internal error") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("ssh %v: err %v, output %q: want one clear line and a failure", bad, err, out)
		}
	}

	// A restart shows the same history and live state.
	s.stop()
	s.start()
	if got := history(s.releasesJSON("rb")); !strings.HasPrefix(got, "v4:live:rollback v3:retired:push") {
		t.Errorf("history after restart = %q", got)
	}
	s.wantServes("rb", "/", "hello from v2")

	// The local CLI talks to the admin API.
	out, err = s.slipwayCLI("rollback", "rb", "v1")
	if err != nil || !strings.Contains(out, "v5 is live") {
		t.Fatalf("slipway rollback rb v1: %v\n%s", err, out)
	}
	s.wantServes("rb", "/", "hello from v1")
	out, err = s.slipwayCLI("releases", "rb", "--json")
	if err != nil {
		t.Fatalf("slipway releases: %v\n%s", err, out)
	}
	var rels []map[string]any
	if err := json.Unmarshal([]byte(out), &rels); err != nil || len(rels) != 5 || rels[0]["live"] != true {
		t.Errorf("slipway releases --json = %v, %s", err, out)
	}
	if out, err := s.slipwayCLI("rollback", "rb", "v5"); err == nil || !strings.Contains(out, "already live") {
		t.Errorf("local rollback to the live release: %v\n%s", err, out)
	}
}
