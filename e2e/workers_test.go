package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A worker runs next to web with no port, the release phase runs before
// the release starts, and a failing release phase aborts the deploy.
func TestProcfile_WorkerAndReleasePhase(t *testing.T) {
	s := startServer(t)
	marks := filepath.Join(s.dataDir, "apps", "jobs", "home") // the app's HOME: the one place it may write
	app := staticApp("v1")
	app["Procfile"] += "worker: while true; do echo worker $SLIPWAY_RELEASE $DYNO tick; sleep 0.2; done\n" +
		"release: echo migrating $SLIPWAY_RELEASE; touch $HOME/$SLIPWAY_RELEASE\n"
	dir := s.newApp(app)
	s.mustGit(dir, "remote", "add", "deploy", s.remote("jobs"))
	out := s.mustGit(dir, "push", "deploy", "main")
	for _, want := range []string{"Running release command", "migrating v1", "Started 1 worker instance(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(marks, "v1")); err != nil {
		t.Errorf("the release phase did not run: %v", err)
	}
	ps, _ := s.ssh(s.key, "ps", "jobs")
	if !strings.Contains(ps, "worker.1") || !strings.Contains(ps, "web.1") {
		t.Errorf("ps lacks web.1 or worker.1:\n%s", ps)
	}
	waitFor(t, "the worker's output in the log", func() bool {
		out, _ := s.ssh(s.key, "logs", "jobs", "-p", "worker", "-n", "3")
		return strings.Contains(out, "worker.1 v1: worker v1 worker.1 tick")
	})

	// A failing release phase aborts the deploy; v1 keeps serving and its
	// worker keeps running.
	bad := staticApp("v2")
	bad["Procfile"] += "worker: sleep 100\nrelease: echo cannot migrate; exit 4\n"
	s.commit(dir, "bad migration", bad)
	out, err := s.git(dir, "push", "deploy", "main")
	if err == nil || !strings.Contains(out, "release command exited with status 4") || !strings.Contains(out, "cannot migrate") {
		t.Errorf("push with a failing release phase: %v\n%s", err, out)
	}
	s.wantServes("jobs", "/", "hello from v1")
	if ps, _ := s.ssh(s.key, "ps", "jobs"); !strings.Contains(ps, "worker.1") || strings.Contains(ps, "v2") {
		t.Errorf("after the failed deploy ps shows:\n%s", ps)
	}

	// A good deploy stops v1's worker before v3's starts: one worker at a time.
	s.commit(dir, "v3", app)
	s.mustGit(dir, "push", "deploy", "main")
	if ps, _ := s.ssh(s.key, "ps", "jobs"); strings.Count(ps, "worker.1") != 1 || !strings.Contains(ps, "worker.1  v3") {
		t.Errorf("after v3 ps shows:\n%s", ps)
	}

	// Workers scale like web; worker=0 stops them.
	if out, err := s.ssh(s.key, "ps:scale", "jobs", "web=1", "worker=2"); err != nil {
		t.Fatalf("ps:scale worker=2: %v\n%s", err, out)
	}
	if ps, _ := s.ssh(s.key, "ps", "jobs"); !strings.Contains(ps, "worker.2") {
		t.Errorf("after worker=2 ps shows:\n%s", ps)
	}
	if out, err := s.ssh(s.key, "ps:scale", "jobs", "worker=0"); err != nil {
		t.Fatalf("ps:scale worker=0: %v\n%s", err, out)
	}
	if ps, _ := s.ssh(s.key, "ps", "jobs"); strings.Contains(ps, "worker.") {
		t.Errorf("after worker=0 ps shows:\n%s", ps)
	}
}
