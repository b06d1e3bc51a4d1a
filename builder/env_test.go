package builder

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// lookup returns the value the last kv for key sets, as os/exec would.
func lookup(env []string, key string) (string, bool) {
	var val string
	var found bool
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// A build step gets what an app's process gets, never slipway's own
// environment: the app's config configures the build.
func TestBuildEnv_IsTheAppsNotSlipways(t *testing.T) {
	t.Setenv("GIT_DIR", "/srv/repos/app.git")
	t.Setenv("GIT_QUARANTINE_PATH", "/srv/repos/app.git/objects/incoming")
	t.Setenv("SLIPWAY_ADMIN_TOKEN", "secret")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("GOPROXY", "https://slipways.example")
	b := New(Config{DataDir: t.TempDir()})
	s := &session{b: b, req: Request{App: "shop", Version: 3, Commit: "abc", Env: map[string]string{"GOPROXY": "https://apps.example"}}}
	env := s.env("GOFLAGS=-mod=mod")

	for key, want := range map[string]string{
		"HOME":           b.layout().BuildHome("shop"),
		"GOPROXY":        "https://apps.example",
		"GOFLAGS":        "-mod=mod",
		"SOURCE_VERSION": "abc",
		"SLIPWAY_APP":    "shop",
	} {
		if got, _ := lookup(env, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"GIT_DIR", "GIT_QUARANTINE_PATH", "SLIPWAY_ADMIN_TOKEN", "AWS_SECRET_ACCESS_KEY"} {
		if v, ok := lookup(env, key); ok {
			t.Errorf("%s = %q leaked into the build", key, v)
		}
	}
	// The real process sees the same.
	cmd := exec.Command("sh", "-c", `echo "$HOME $AWS_SECRET_ACCESS_KEY"`)
	cmd.Env = env
	if out, err := cmd.Output(); err != nil || string(out) != b.layout().BuildHome("shop")+" \n" {
		t.Errorf("a child sees %q, %v", out, err)
	}
}

func TestGitEnv_AddsTheRequestsVariables(t *testing.T) {
	env := gitEnv([]string{"GIT_OBJECT_DIRECTORY=/q"})
	if got, _ := lookup(env, "GIT_OBJECT_DIRECTORY"); got != "/q" {
		t.Errorf("GIT_OBJECT_DIRECTORY = %q", got)
	}
	if got, _ := lookup(env, "PATH"); got != os.Getenv("PATH") {
		t.Errorf("PATH = %q, want slipway's", got)
	}
}
