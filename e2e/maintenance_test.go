package e2e

import (
	"net/http"
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
