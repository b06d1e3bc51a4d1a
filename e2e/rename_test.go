package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/supervisor"
)

// renameApp is a Python app (built with a virtualenv, whose scripts name
// the directory they were built in) that runs one of the venv's scripts
// before it serves its environment.
func renameApp() map[string]string {
	app := envApp()
	app["requirements.txt"] = "\n"
	app["Procfile"] = "web: .venv/bin/pip --version >/dev/null && exec python app.py\n"
	return app
}

// apps:rename moves the repository, releases (a Python one still runs,
// also on rollback), history, config, domains and limited keys to the new
// name; the old name stops routing; pushes go to the new remote; it
// holds across a restart.
func TestApps_Rename(t *testing.T) {
	testutil.NeedVenv(t, supervisor.ReadablePath(os.Getenv("PATH")))
	s := startServer(t)
	dir := s.newApp(renameApp())
	s.mustGit(dir, "push", s.remote("old"), "main")
	s.mustSSH("config:set", "old", "GREETING=hi")
	s.mustSSH("domains:add", "old", "www.old.test")
	dev := newKey(t, s.home, "dev_key")
	pub, _ := os.ReadFile(dev + ".pub")
	if out, err := s.sshInput(pub, "ssh-keys:add", "dev", "--app", "old"); err != nil {
		t.Fatalf("ssh-keys:add: %v\n%s", err, out)
	}
	if out, err := s.ssh(dev, "apps:rename", "old", "mine"); err == nil || strings.Contains(out, "Renamed") {
		t.Errorf("a key limited to the app renamed it: %v\n%s", err, out)
	}
	for _, bad := range [][]string{{"apps:rename", "nosuch", "other"}, {"apps:rename", "old", "Bad_Name"}, {"apps:rename", "old"}} {
		if out, err := s.ssh(s.key, bad...); err == nil || strings.Contains(out, "internal error") {
			t.Errorf("%v: %v\n%s", bad, err, out)
		}
	}
	other := s.newApp(staticApp("taken"))
	s.mustGit(other, "push", s.remote("taken"), "main")
	if out, err := s.ssh(s.key, "apps:rename", "old", "taken"); err == nil || !strings.Contains(out, "exists already") {
		t.Errorf("renaming onto an existing app: %v\n%s", err, out)
	}

	out := s.mustSSH("apps:rename", "old", "new")
	if !strings.Contains(out, "Renamed old to new") || !strings.Contains(out, "git remote set-url deploy") {
		t.Errorf("apps:rename said:\n%s", out)
	}
	if got := s.env("new", "GREETING"); got != "hi" {
		t.Errorf("the renamed app's GREETING = %q, want its config", got)
	}
	if code, _ := s.get("old", "/"); code != http.StatusNotFound {
		t.Errorf("the old name answers %d, want 404", code)
	}
	if code, body := s.getHost("www.old.test", "/env/GREETING"); code != http.StatusOK || body != "hi" {
		t.Errorf("the app's own domain after the rename: %d %q", code, body)
	}
	if rels := s.mustSSH("releases", "new"); !strings.Contains(rels, "v1") || !strings.Contains(rels, "v2") {
		t.Errorf("the history did not follow:\n%s", rels)
	}
	for _, p := range []string{filepath.Join(s.dataDir, "apps", "old"), filepath.Join(s.dataDir, "repos", "old.git")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there after the rename", p)
		}
	}
	// The limited key follows the app.
	if out, err := s.ssh(dev, "config:get", "new", "GREETING"); err != nil || out != "hi\n" {
		t.Errorf("the key limited to old, on new: %v %q", err, out)
	}
	if out, err := s.ssh(dev, "apps:info", "old"); err == nil || !strings.Contains(out, "no app named") {
		t.Errorf("the key limited to old still reaches a name old: %v\n%s", err, out)
	}
	// The release built under the old name runs under the new one.
	if out, err := s.ssh(s.key, "rollback", "new", "v1"); err != nil || !strings.Contains(out, "is live") {
		t.Fatalf("rollback to the release built as old: %v\n%s\nslipway log:\n%s", err, out, s.logText())
	}
	if got := s.env("new", "GREETING"); got != "<unset>" {
		t.Errorf("after the rollback to v1 GREETING = %q, want unset", got)
	}
	// Pushes go to the new remote.
	s.commit(dir, "after the rename", map[string]string{"note.txt": "x"})
	if out := s.mustGit(dir, "push", s.remote("new"), "main"); !strings.Contains(out, "v4 is live") {
		t.Errorf("push to the new name:\n%s", out)
	}
	s.stop()
	s.start()
	if code, body := s.get("new", "/env/GREETING"); code != http.StatusOK || body != "<unset>" {
		t.Errorf("after a restart the renamed app answers %d %q", code, body)
	}
	if out := s.mustSSH("apps:list"); strings.Contains(out, "old") {
		t.Errorf("apps:list still has old:\n%s", out)
	}
}
