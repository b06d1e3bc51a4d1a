package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maintenance:on answers every request with 503, Retry-After and the
// app's maintenance.html while the app runs on; a deploy meanwhile works
// and brings its own page; it stays on across a restart; maintenance:off
// serves the app again.
func TestMaintenance_OnDeployRestartOff(t *testing.T) {
	s := startServer(t)
	app := staticApp("v1")
	app["maintenance.html"] = "<h1>v1 is resting</h1>\n"
	dir := s.newApp(app)
	s.mustGit(dir, "push", s.remote("rest"), "main")
	if out, err := s.ssh(s.key, "maintenance:on", "rest"); err != nil || !strings.Contains(out, "in maintenance") {
		t.Fatalf("maintenance:on: %v\n%s", err, out)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.httpAddr+"/", nil)
	req.Host = "rest." + testDomain
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("in maintenance: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, body := s.get("rest", "/"); code != http.StatusServiceUnavailable || !strings.Contains(body, "v1 is resting") {
		t.Errorf("in maintenance: %d %q", code, body)
	}
	v2 := staticApp("v2")
	v2["maintenance.html"] = "<h1>v2 is resting</h1>\n"
	s.commit(dir, "v2", v2)
	if out := s.mustGit(dir, "push", s.remote("rest"), "main"); !strings.Contains(out, "v2 is live") {
		t.Fatalf("a deploy in maintenance:\n%s", out)
	}
	if code, body := s.get("rest", "/"); code != http.StatusServiceUnavailable || !strings.Contains(body, "v2 is resting") {
		t.Errorf("in maintenance after a deploy: %d %q", code, body)
	}
	s.stop()
	s.start()
	if code, _ := s.get("rest", "/"); code != http.StatusServiceUnavailable {
		t.Errorf("maintenance did not survive a restart: %d", code)
	}
	if out, err := s.ssh(s.key, "maintenance:off", "rest"); err != nil {
		t.Fatalf("maintenance:off: %v\n%s", err, out)
	}
	s.wantServes("rest", "/", "hello from v2")
}

// releases:retire ends a draining release now: the sessions pinned to it
// move to the live release.
func TestReleases_RetireADrainingReleaseNow(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("old"), "main")
	pinned := newClient(t)
	if got := s.release(pinned, "old"); got != "v1" {
		t.Fatalf("pinned session on %s", got)
	}
	s.commit(dir, "v2", staticApp("v2"))
	s.mustGit(dir, "push", s.remote("old"), "main")
	if got := s.release(pinned, "old"); got != "v1" {
		t.Fatalf("the session left v1 before the retire: %s", got)
	}
	if ps, _ := s.ssh(s.key, "ps", "old"); !strings.Contains(ps, "v1 drains since") || !strings.Contains(ps, "at the latest") ||
		!strings.Contains(ps, "(1 session seen since)") {
		t.Errorf("ps does not show v1's pinned session and when v1 is retired:\n%s", ps)
	}
	if out, err := s.ssh(s.key, "releases:retire", "old", "v2"); err == nil || !strings.Contains(out, "v2 of old is not draining") {
		t.Errorf("retiring the live release: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "releases:retire", "old", "v1"); err != nil {
		t.Fatalf("releases:retire: %v\n%s", err, out)
	}
	if got := s.release(pinned, "old"); got != "v2" {
		t.Errorf("the pinned session after the retire got %s, want v2", got)
	}
	waitFor(t, "v1 to be retired", func() bool { return len(s.psReleases("old")) == 1 })
}

// ps:stop ends every process of the app, the router says it is stopped,
// it stays stopped across a restart, and ps:start runs the live release
// again; a push also runs a stopped app.
func TestPs_StopAndStart(t *testing.T) {
	s := startServer(t)
	app := staticApp("v1")
	app["Procfile"] += "worker: exec sleep 4646\n"
	dir := s.newApp(app)
	s.mustGit(dir, "push", s.remote("nap"), "main")
	if out, err := s.ssh(s.key, "ps:stop", "nap"); err != nil || !strings.Contains(out, "Stopped nap") {
		t.Fatalf("ps:stop: %v\n%s", err, out)
	}
	if n := s.countRunning("sleep 4646"); n != 0 {
		t.Errorf("%d workers run after ps:stop", n)
	}
	if code, body := s.get("nap", "/"); code != http.StatusServiceUnavailable || !strings.Contains(body, "is stopped") {
		t.Errorf("a stopped app answers %d %q", code, body)
	}
	s.stop()
	s.start()
	if code, _ := s.get("nap", "/"); code != http.StatusServiceUnavailable || s.countRunning("sleep 4646") != 0 {
		t.Errorf("the app did not stay stopped across a restart: %d, %d workers", code, s.countRunning("sleep 4646"))
	}
	if out, err := s.ssh(s.key, "ps:start", "nap"); err != nil || !strings.Contains(out, "Started nap: v1 is live") {
		t.Fatalf("ps:start: %v\n%s", err, out)
	}
	s.wantServes("nap", "/", "hello from v1")
	// The worker starts beside the web pool: it may still be on its way
	// to exec sleep when ps:start answers.
	waitFor(t, "the worker after ps:start", func() bool { return s.countRunning("sleep 4646") >= 1 })
	if n := s.countRunning("sleep 4646"); n != 1 {
		t.Errorf("%d workers after ps:start, want 1", n)
	}
	if out, err := s.ssh(s.key, "ps:start", "nap"); err == nil || !strings.Contains(out, "is not stopped") {
		t.Errorf("ps:start of a running app: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "ps:scale", "nap", "web=0"); err != nil || !strings.Contains(out, "Stopped nap") {
		t.Errorf("ps:scale web=0: %v\n%s", err, out)
	}
	s.commit(dir, "v2", staticApp("v2"))
	s.mustGit(dir, "push", s.remote("nap"), "main")
	s.wantServes("nap", "/", "hello from v2")
}

// A crash is visible where a user looks: the app's log says how the
// instance ended and, when it keeps ending, that it is a crash loop; ps
// shows it crashed; apps:list and apps:info show the app as crashing.
func TestCrash_VisibleInLogsPsAndAppsList(t *testing.T) {
	s := startServer(t)
	gateDir := t.TempDir()
	os.Chmod(gateDir, 0o755)
	gate := filepath.Join(gateDir, "gate")
	app := staticApp("v1")
	app["Procfile"] = "web: python3 -m http.server --bind 127.0.0.1 $PORT & while [ ! -e " + gate + " ]; do sleep 0.05; done; kill $!; exit 3\n"
	dir := s.newApp(app)
	s.mustGit(dir, "push", s.remote("crashy"), "main")
	os.WriteFile(gate, nil, 0o644)
	waitFor(t, "the crash in the app's log", func() bool {
		logs, _ := s.ssh(s.key, "logs", "crashy", "-n", "200")
		return strings.Contains(logs, "slipway: web.1 exited with status 3") && strings.Contains(logs, "crash loop")
	})
	if ps, _ := s.ssh(s.key, "ps", "crashy"); !strings.Contains(ps, "crashed") && !strings.Contains(ps, "starting") {
		t.Errorf("ps of a crashing app:\n%s", ps)
	}
	if list, _ := s.ssh(s.key, "apps:list"); !strings.Contains(list, "crash loop") {
		t.Errorf("apps:list of a crash-looping app:\n%s", list)
	}
	if info, _ := s.ssh(s.key, "apps:info", "crashy"); !strings.Contains(info, "crash loop") {
		t.Errorf("apps:info of a crash-looping app:\n%s", info)
	}
}
