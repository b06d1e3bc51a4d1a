package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// /metrics and /healthz answer without the admin token and carry no secret.
func TestAdmin_MetricsAndHealthzWithoutToken(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("measured"), "main")
	s.ssh(s.key, "config:set", "measured", "SECRET_VALUE=hunter2")
	s.wantServes("measured", "/", "hello from v1")

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.adminAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`slipway_deploys_total{result="ok"} 1`,
		`slipway_pools{app="measured",state="live"} 1`,
		`slipway_build_duration_seconds_count`,
		`slipway_http_requests_total{app="measured",code="2xx"}`,
		`slipway_upstream_duration_seconds_count{app="measured"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "hunter2") {
		t.Error("/metrics shows a config value")
	}
	if code, _ := get("/api/apps"); code != http.StatusUnauthorized {
		t.Errorf("/api/apps without the token = %d, want 401", code)
	}
}
