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

func TestBuildEnv_IsolatesHomeAndRepository(t *testing.T) {
	t.Setenv("GIT_DIR", "/srv/repos/app.git")
	t.Setenv("GIT_QUARANTINE_PATH", "/srv/repos/app.git/objects/incoming")
	t.Setenv("GIT_SSH_COMMAND", "ssh -i key")
	t.Setenv("GOPROXY", "https://proxy.example")
	env := buildEnv("/data/cache/home", "abc", "GOFLAGS=-mod=mod", "HOME=/override")

	for key, want := range map[string]string{
		"HOME":            "/override",
		"GOPROXY":         "https://proxy.example",
		"GIT_SSH_COMMAND": "ssh -i key",
		"GOFLAGS":         "-mod=mod",
		"SOURCE_VERSION":  "abc",
	} {
		if got, _ := lookup(env, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"GIT_DIR", "GIT_QUARANTINE_PATH"} {
		if v, ok := lookup(env, key); ok {
			t.Errorf("%s = %q leaked into the build", key, v)
		}
	}
	// The real process sees the same.
	cmd := exec.Command("sh", "-c", `echo "$HOME"`)
	cmd.Env = env
	if out, err := cmd.Output(); err != nil || string(out) != "/override\n" {
		t.Errorf("HOME in a child = %q, %v", out, err)
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
