package builder

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
)

// files is a repository's content: path → body. A body starting with "#!"
// is committed executable.
type files map[string]string

// newRepo commits fs in a new work repository, pushes it to a new bare
// repository and returns the bare repository and the commit's SHA.
func newRepo(t *testing.T, fs files) (repo, sha string) {
	t.Helper()
	work := t.TempDir()
	git(t, work, "init", "--quiet")
	writeFiles(t, work, fs)
	return commitAndPush(t, work)
}

// commitAndPush commits everything in the work repository work, pushes it
// to a new bare repository and returns that repository and the SHA.
func commitAndPush(t *testing.T, work string) (repo, sha string) {
	t.Helper()
	git(t, work, "add", "-A")
	git(t, work, "commit", "--quiet", "-m", "test")
	sha = strings.TrimSpace(git(t, work, "rev-parse", "HEAD"))
	repo = t.TempDir()
	git(t, repo, "init", "--quiet", "--bare")
	git(t, work, "push", "--quiet", repo, "HEAD:refs/heads/main")
	return repo, sha
}

func writeFiles(t *testing.T, dir string, fs files) {
	t.Helper()
	for name, body := range fs {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		perm := os.FileMode(0o644)
		if strings.HasPrefix(body, "#!") {
			perm = 0o755
		}
		if err := os.WriteFile(p, []byte(body), perm); err != nil {
			t.Fatal(err)
		}
	}
}

// git runs git in dir with a fixed identity and no user or system config,
// for at most a minute, and returns its stdout.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	args = append([]string{
		"-c", "user.name=Test", "-c", "user.email=test@example.com",
		"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false",
	}, args...)
	cmd := testutil.Command(t, time.Minute, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// newBuilder returns a Builder with a fresh data directory that is removed,
// read-only releases and all, when the test ends. The test gets a HOME of
// its own: the git that reads a pushed commit runs with slipway's
// environment, and must not see the running user's config.
func newBuilder(t *testing.T, timeout time.Duration) *Builder {
	t.Helper()
	testutil.PrivateHome(t)
	dataDir := t.TempDir()
	// Registered after TempDir, so it runs first and restores write bits.
	t.Cleanup(func() {
		if err := Remove(dataDir); err != nil {
			t.Error(err)
		}
	})
	return New(Config{
		DataDir: dataDir,
		Timeout: timeout,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// syncBuffer is an io.Writer safe to read while Build writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// build builds commit sha of repo as version v of app "hello" and returns
// the release, the streamed output and the error.
func build(t *testing.T, b *Builder, v slipway.Version, repo, sha string) (*Release, string, error) {
	t.Helper()
	var out syncBuffer
	rel, err := b.Build(context.Background(), Request{App: "hello", Version: v, Commit: sha, RepoDir: repo}, &out)
	t.Logf("build output:\n%s", out.String())
	return rel, out.String(), err
}

// mustBuild is build for builds that must succeed.
func mustBuild(t *testing.T, b *Builder, v slipway.Version, repo, sha string) (*Release, string) {
	t.Helper()
	rel, out, err := build(t, b, v, repo, sha)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return rel, out
}

// assertNoLeftovers checks that a failed build left nothing in the app's
// releases directory: no release, no temporary directory.
func assertNoLeftovers(t *testing.T, b *Builder, app string) {
	t.Helper()
	entries, err := os.ReadDir(b.layout().ReleasesDir(app))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in releases directory: %s", e.Name())
	}
}

// assertReadOnly checks that nothing under dir has a write bit.
func assertReadOnly(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink == 0 && fi.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s is writable: %v", p, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// assertBuildFailed checks that err wraps slipway.ErrBuildFailed, is one
// line and contains want.
func assertBuildFailed(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Build succeeded, want an error containing %q", want)
	}
	if !errors.Is(err, slipway.ErrBuildFailed) {
		t.Errorf("error %q does not wrap ErrBuildFailed", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
}
