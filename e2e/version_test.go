package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// `version` over ssh and `slipway version` name the commit slipway was
// built from, which the test binary was built from this checkout.
func TestVersion_NamesTheCommit(t *testing.T) {
	if len(builtFrom) < 12 {
		t.Fatalf("TestMain could not tell the commit it built from (git rev-parse HEAD): %q", builtFrom)
	}
	want := "commit " + builtFrom[:12]
	s := startServer(t)
	out, err := s.ssh(s.key, "version")
	if err != nil || !strings.HasPrefix(out, "slipway ") || !strings.Contains(out, want) {
		t.Errorf("ssh version = %q, %v; want it to name %s", out, err, want)
	}
	local, err := exec.Command(slipwayBin, "version").Output()
	if err != nil || !strings.Contains(string(local), want) {
		t.Errorf("slipway version = %q, %v; want it to name %s", local, err, want)
	}
}

// help lists every command with one line each; an unknown command
// suggests the nearest one, over ssh and on the host.
func TestHelp_ListsAndSuggests(t *testing.T) {
	s := startServer(t)
	out, err := s.ssh(s.key, "help")
	if err != nil || !strings.Contains(out, "apps:list") || !strings.Contains(out, "domains:add NAME DOMAIN...") || !strings.Contains(out, "certs:add NAME < bundle.pem") {
		t.Errorf("ssh help: %v\n%s", err, out)
	}
	out, err = s.ssh(s.key, "apps:lsit")
	if err == nil || !strings.Contains(out, "did you mean apps:list?") {
		t.Errorf("ssh apps:lsit: %v\n%s", err, out)
	}
	local, err := exec.Command(slipwayBin, "domain:add").CombinedOutput()
	if err == nil || !strings.Contains(string(local), "did you mean domains:add?") {
		t.Errorf("slipway domain:add: %v\n%s", err, local)
	}
}

// releases:info shows one release's facts with its failure reason, and
// releases:log its build and deploy log.
func TestReleases_InfoAndLog(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("facts"), "main")
	s.commit(dir, "breaks at start", map[string]string{"Procfile": "web: echo dying now; exit 3\n"})
	s.git(dir, "push", s.remote("facts"), "main")
	info, err := s.ssh(s.key, "releases:info", "facts", "v2")
	if err != nil || !strings.Contains(info, "Status:") || !strings.Contains(info, "failed") || !strings.Contains(info, "Subject:") ||
		!strings.Contains(info, "breaks at start") || !strings.Contains(info, "Failure:") {
		t.Errorf("releases:info facts v2: %v\n%s", err, info)
	}
	log, err := s.ssh(s.key, "releases:log", "facts", "v2")
	if err != nil || !strings.Contains(log, "dying now") {
		t.Errorf("releases:log facts v2: %v\n%s", err, log)
	}
	if out, err := s.ssh(s.key, "releases:info", "facts", "v9"); err == nil || strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Errorf("releases:info of a release that is none: %v, want one line\n%s", err, out)
	}
}
