package gitserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
)

// recordingDeployer remembers the pushes it was asked to deploy and
// answers with out and err.
type recordingDeployer struct {
	mu     sync.Mutex
	pushes []Push
	out    string
	err    error
}

func (d *recordingDeployer) Deploy(_ context.Context, p Push, out io.Writer) error {
	d.mu.Lock()
	d.pushes = append(d.pushes, p)
	d.mu.Unlock()
	io.WriteString(out, d.out)
	return d.err
}

func (d *recordingDeployer) calls() []Push {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Push(nil), d.pushes...)
}

// startHooks runs a hook server on a data dir of its own.
func startHooks(t *testing.T, d Deployer) *hookServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "hk") // short: a unix socket's path is bounded
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := newHookServer(slipway.Layout{Root: dir}, "/bin/false", d, slog.New(slog.DiscardHandler))
	if err := h.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.shutdown(context.Background()) })
	return h
}

// runFastHook runs this test binary as `hook pre-receive`: hookfast.c is
// linked into it, so the C hook answers before Go starts, as in slipway.
func runFastHook(t *testing.T, h *hookServer, id, dir, stdin string, env ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testutil.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "hook", "pre-receive")
	cmd.Dir = dir
	cmd.Env = append(append([]string{"PATH=/usr/bin:/bin"}, hookEnv(h.socket, id)...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

const testRefs = "1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 refs/heads/main\n"

func TestRawHook_DeploysWhatItsGitSends(t *testing.T) {
	d := &recordingDeployer{out: "-----> built\n\x1b]0;pwned\x07done\n"}
	h := startHooks(t, d)
	repo := t.TempDir()
	id := h.register(pushInfo{App: "web", RepoDir: repo})
	h.started(id, os.Getpid()) // this test is the hook's git
	out, code := runFastHook(t, h, id, repo, testRefs, "GIT_QUARANTINE_PATH=objects/incoming", "GIT_OBJECT_DIRECTORY=/abs/objects")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "-----> built") || strings.Contains(out, "\x1b") || strings.Contains(out, "\x07") {
		t.Errorf("output not relayed, or relayed with its control characters: %q", out)
	}
	calls := d.calls()
	if len(calls) != 1 {
		t.Fatalf("%d deploys, want 1", len(calls))
	}
	p := calls[0]
	if p.App != "web" || p.NewSHA != strings.Repeat("2", 40) || p.Ref != "refs/heads/main" {
		t.Errorf("push = %+v", p)
	}
	wantEnv := []string{"GIT_OBJECT_DIRECTORY=/abs/objects", "GIT_QUARANTINE_PATH=" + filepath.Join(repo, "objects/incoming")}
	if strings.Join(p.GitEnv, " ") != strings.Join(wantEnv, " ") {
		t.Errorf("git env = %q, want %q (relative paths made absolute)", p.GitEnv, wantEnv)
	}
	if !h.deployed(id) {
		t.Error("the push is not marked deployed")
	}
}

func TestRawHook_RejectsWithTheReason(t *testing.T) {
	d := &recordingDeployer{err: slipway.Errorf(slipway.EINVALID, "no Procfile")}
	h := startHooks(t, d)
	repo := t.TempDir()
	id := h.register(pushInfo{App: "web", RepoDir: repo})
	h.started(id, os.Getpid())
	out, code := runFastHook(t, h, id, repo, testRefs)
	if code != 1 || !strings.Contains(out, "no Procfile") || !strings.Contains(out, "Push rejected") {
		t.Fatalf("exit %d, output %q: want the rejection and exit 1", code, out)
	}
}

// A process that is not the push's hook (an app that found the socket
// and the id) is refused, and nothing is deployed.
func TestRawHook_RefusesAnyoneButThePushsGit(t *testing.T) {
	d := &recordingDeployer{}
	h := startHooks(t, d)
	repo := t.TempDir()
	id := h.register(pushInfo{App: "web", RepoDir: repo})
	h.started(id, 1) // the hook's git is some other process
	out, code := runFastHook(t, h, id, repo, testRefs)
	if code != 1 || !strings.Contains(out, "refused") {
		t.Errorf("exit %d, output %q: want a refusal", code, out)
	}
	unknown, code := runFastHook(t, h, "not-a-push", repo, testRefs)
	if code != 1 || !strings.Contains(unknown, "refused") {
		t.Errorf("unknown id: exit %d, output %q", code, unknown)
	}
	// Garbage on the socket gets a refusal, not a deploy.
	c, err := net.Dial("unix", rawSocketPath(h.socket))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\n\r\n")
	answer, _ := io.ReadAll(c)
	c.Close()
	if !strings.HasSuffix(string(answer), "\x001") {
		t.Errorf("garbage answered %q", answer)
	}
	if len(d.calls()) != 0 {
		t.Error("a stranger's request deployed")
	}
}

// Without the raw socket in its environment (a daemon of before), the
// binary runs the Go hook, which speaks HTTP.
func TestRawHook_GoPathWithoutTheRawSocket(t *testing.T) {
	d := &recordingDeployer{}
	h := startHooks(t, d)
	var out strings.Builder
	code := RunHook(strings.NewReader(testRefs), &out, []string{envHookSocket + "=" + h.socket, envPushID + "=nope"})
	if code != 1 || !strings.Contains(out.String(), "refused") {
		t.Errorf("exit %d, output %q", code, out.String())
	}
}
