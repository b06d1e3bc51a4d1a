package e2e

import (
	"strings"
	"testing"
)

// app.json cron jobs run in the live release with its config, their output
// and exit status go to the logs, and the schedules follow the release.
func TestCron_RunsLiveReleasesJobs(t *testing.T) {
	s := startServer(t)
	app := staticApp("v1")
	app["app.json"] = `{"cron":[{"command":"echo cron says $GREETING from $SLIPWAY_RELEASE","schedule":"@every 1s"}]}`
	dir := s.newApp(app)
	s.mustGit(dir, "remote", "add", "deploy", s.remote("timed"))
	s.mustGit(dir, "push", "deploy", "main")
	if out, err := s.ssh(s.key, "config:set", "timed", "GREETING=hi"); err != nil {
		t.Fatalf("config:set: %v\n%s", err, out)
	}
	list, err := s.ssh(s.key, "cron:list", "timed")
	if err != nil || !strings.Contains(list, "@every 1s") || !strings.Contains(list, "NEXT RUN") {
		t.Errorf("cron:list: %v\n%s", err, list)
	}
	waitFor(t, "the cron job to run with the config release", func() bool {
		out, _ := s.ssh(s.key, "logs", "timed", "-p", "cron")
		return strings.Contains(out, "cron.1 v2: cron says hi from v2") && strings.Contains(out, "exited with status 0")
	})

	// A release without cron jobs takes the schedules away; a rollback
	// brings them back.
	delete(app, "app.json")
	s.commit(dir, "no cron", map[string]string{"app.json": `{}`})
	s.mustGit(dir, "push", "deploy", "main")
	if list, _ := s.ssh(s.key, "cron:list", "timed"); !strings.Contains(list, "no cron jobs") {
		t.Errorf("cron:list after a release without cron:\n%s", list)
	}
	if out, err := s.ssh(s.key, "rollback", "timed"); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if list, _ := s.ssh(s.key, "cron:list", "timed"); !strings.Contains(list, "@every 1s") {
		t.Errorf("cron:list after the rollback:\n%s", list)
	}

	// A schedule cron cannot read is refused at push time.
	s.commit(dir, "bad cron", map[string]string{"app.json": `{"cron":[{"command":"true","schedule":"every tuesday"}]}`})
	out, err := s.git(dir, "push", "deploy", "main")
	if err == nil || !strings.Contains(out, `cron[0].schedule "every tuesday"`) {
		t.Errorf("push with a bad schedule: %v\n%s", err, out)
	}
}
