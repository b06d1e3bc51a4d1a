package builder

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
)

func TestBuild_ProcfileAppIsReadOnlyRelease(t *testing.T) {
	repo, sha := newRepo(t, files{
		"Procfile":      "web: ./server --port $PORT\nworker: ./server --worker\n",
		"server":        "#!/bin/sh\necho hi\n",
		"lib/helper.sh": "echo helper\n",
	})
	b := newBuilder(t, 0)
	rel, out := mustBuild(t, b, 1, repo, sha)

	if got, want := rel.Dir, b.ReleaseDir("hello", 1); got != want {
		t.Errorf("Dir = %q, want %q", got, want)
	}
	if got, want := rel.Kind, KindProcfile; got != want {
		t.Errorf("Kind = %q, want %q", got, want)
	}
	want := slipway.Procfile{{Type: "web", Command: "./server --port $PORT"}, {Type: "worker", Command: "./server --worker"}}
	if !reflect.DeepEqual(rel.Procfile, want) {
		t.Errorf("Procfile = %v, want %v", rel.Procfile, want)
	}
	if rel.AppJSON != nil || rel.StaticDir != "" || rel.Path != nil {
		t.Errorf("AppJSON, StaticDir, Path = %v, %q, %v, want none", rel.AppJSON, rel.StaticDir, rel.Path)
	}
	if data, err := os.ReadFile(filepath.Join(rel.Dir, "lib", "helper.sh")); err != nil || string(data) != "echo helper\n" {
		t.Errorf("lib/helper.sh = %q, %v", data, err)
	}
	if fi, err := os.Stat(filepath.Join(rel.Dir, "server")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("server is not executable: %v, %v", fi.Mode(), err)
	}
	assertReadOnly(t, rel.Dir)
	if err := os.WriteFile(filepath.Join(rel.Dir, "new"), nil, 0o644); err == nil && os.Geteuid() != 0 {
		t.Error("could write a file into the release")
	}
	for _, line := range []string{"-----> Detected Procfile app", "       Procfile declares types -> web, worker", "-----> Build succeeded in "} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q", line)
		}
	}
	if rel.Duration <= 0 {
		t.Errorf("Duration = %v", rel.Duration)
	}
}

func TestBuild_ExistingReleaseFails(t *testing.T) {
	repo, sha := newRepo(t, files{"Procfile": "web: ./server\n"})
	b := newBuilder(t, 0)
	mustBuild(t, b, 1, repo, sha)
	_, _, err := build(t, b, 1, repo, sha)
	assertBuildFailed(t, err, "release v1 already exists")
}

func TestBuild_GoAppGetsDefaultWebProcess(t *testing.T) {
	testutil.SkipIfShortCompile(t)
	repo, sha := newRepo(t, files{
		"go.mod":  "module example.com/hello\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() { println(\"hello from go\") }\n",
	})
	b := newBuilder(t, 0)
	rel, out := mustBuild(t, b, 1, repo, sha)

	if got, want := rel.Kind, KindGo; got != want {
		t.Errorf("Kind = %q, want %q", got, want)
	}
	if got, want := rel.Procfile, (slipway.Procfile{{Type: "web", Command: "bin/hello"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("Procfile = %v, want %v", got, want)
	}
	if got, want := rel.Path, []string{filepath.Join(rel.Dir, "bin")}; !reflect.DeepEqual(got, want) {
		t.Errorf("Path = %v, want %v", got, want)
	}
	if got, err := exec.Command(filepath.Join(rel.Dir, "bin", "hello")).CombinedOutput(); err != nil || string(got) != "hello from go\n" {
		t.Errorf("bin/hello: %q, %v", got, err)
	}
	assertReadOnly(t, rel.Dir)
	for _, line := range []string{"-----> Detected Go app", "-----> Running go build", "Default types for Go app -> web"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q", line)
		}
	}

	cache := filepath.Join(b.cacheDir("hello"), "go-build")
	first := goCacheEntries(t, cache)
	if len(first) == 0 {
		t.Fatalf("build cache %s is empty after the first build", cache)
	}
	// The second push of the app reuses the cache: nothing the first build
	// compiled (the runtime and the rest of the standard library) is
	// compiled again. Go writes an entry only when it compiles its
	// package, so every entry of the first build is still there as it
	// was; the second build adds a few of its own (its tree is elsewhere),
	// which shows it used this cache.
	rel2, _ := mustBuild(t, b, 2, repo, sha)
	second := goCacheEntries(t, cache)
	for name, mtime := range first {
		if got, ok := second[name]; !ok || !got.Equal(mtime) {
			t.Fatalf("the second build compiled again what the first did: cache entry %s was rewritten or removed", name)
		}
	}
	if len(second) == len(first) {
		t.Errorf("the second build added nothing to the app's build cache (%d entries): it used another", len(first))
	}
	if rel2.Dir == rel.Dir {
		t.Errorf("second build reused directory %s", rel.Dir)
	}
}

// goCacheEntries returns the entries of the Go build cache dir, each with
// its modification time.
func goCacheEntries(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	entries := map[string]time.Time{}
	paths, err := filepath.Glob(filepath.Join(dir, "[0-9a-f][0-9a-f]", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		entries[filepath.Base(p)] = fi.ModTime()
	}
	return entries
}

func TestBuild_BrokenGoCodeFailsCleanly(t *testing.T) {
	testutil.SkipIfShortCompile(t)
	repo, sha := newRepo(t, files{
		"go.mod":  "module example.com/broken\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() { undefinedThing() }\n",
	})
	b := newBuilder(t, 0)
	_, out, err := build(t, b, 1, repo, sha)
	assertBuildFailed(t, err, "build failed: go build: exit status 1")
	if !strings.Contains(out, "       ./main.go:3:15: undefined: undefinedThing") {
		t.Errorf("output lacks the compiler error, indented")
	}
	assertNoLeftovers(t, b, "hello")
}

func TestBuild_StaticSiteServedFromItsDirectory(t *testing.T) {
	for _, tt := range []struct {
		name  string
		index string
		dir   string
	}{
		{"root", "index.html", "."},
		{"public", "public/index.html", "public"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, sha := newRepo(t, files{tt.index: "<h1>hi</h1>\n", "README.md": "site\n"})
			b := newBuilder(t, 0)
			rel, out := mustBuild(t, b, 1, repo, sha)
			if got, want := rel.Kind, KindStatic; got != want {
				t.Errorf("Kind = %q, want %q", got, want)
			}
			if got, want := rel.StaticDir, filepath.Join(rel.Dir, tt.dir); got != want {
				t.Errorf("StaticDir = %q, want %q", got, want)
			}
			if len(rel.Procfile) != 0 {
				t.Errorf("Procfile = %v, want none", rel.Procfile)
			}
			if _, err := os.Stat(filepath.Join(rel.StaticDir, "index.html")); err != nil {
				t.Error(err)
			}
			if !strings.Contains(out, "-----> Detected static site") {
				t.Error("output lacks the detection header")
			}
		})
	}
}

func TestBuild_PythonVenvWorksAtTheFinalPath(t *testing.T) {
	testutil.NeedVenv(t, os.Getenv("PATH")) // not sandboxed: the python3 first on PATH
	repo, sha := newRepo(t, files{
		"requirements.txt": "",
		"Procfile":         "web: python3 -m http.server $PORT\n",
		"app.py":           "print('hi')\n",
	})
	b := newBuilder(t, 0)
	rel, out := mustBuild(t, b, 1, repo, sha)

	if got, want := rel.Kind, KindPython; got != want {
		t.Errorf("Kind = %q, want %q", got, want)
	}
	bin := filepath.Join(rel.Dir, ".venv", "bin")
	if got, want := rel.Path, []string{bin}; !reflect.DeepEqual(got, want) {
		t.Errorf("Path = %v, want %v", got, want)
	}
	f, err := os.Open(filepath.Join(bin, "pip"))
	if err != nil {
		t.Fatal(err)
	}
	shebang, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	if want := "#!" + filepath.Join(bin, "python"); !strings.HasPrefix(shebang, want) {
		t.Errorf("pip shebang = %q, want it to start with %q", shebang, want)
	}
	for _, name := range []string{filepath.Join(bin, "activate"), filepath.Join(rel.Dir, ".venv", "pyvenv.cfg")} {
		if data, err := os.ReadFile(name); err != nil || strings.Contains(string(data), ".tmp-") {
			t.Errorf("%s still names the temporary directory (%v)", name, err)
		}
	}
	// The relocated venv runs from the release.
	if got, err := exec.Command(filepath.Join(bin, "pip"), "--version").CombinedOutput(); err != nil {
		t.Errorf("pip --version: %v\n%s", err, got)
	}
	got, err := exec.Command(filepath.Join(bin, "python"), "-c", "import sys; print(sys.prefix)").Output()
	if err != nil || strings.TrimSpace(string(got)) != filepath.Join(rel.Dir, ".venv") {
		t.Errorf("sys.prefix = %q, %v", got, err)
	}
	assertReadOnly(t, rel.Dir)
	if !strings.Contains(out, "-----> Running pip install -r requirements.txt") {
		t.Error("output lacks the pip header")
	}
}

func TestBuild_PythonAppWithoutWebLineFails(t *testing.T) {
	repo, sha := newRepo(t, files{"requirements.txt": "", "Procfile": "worker: python3 worker.py\n"})
	b := newBuilder(t, 0)
	_, _, err := build(t, b, 1, repo, sha)
	assertBuildFailed(t, err, "add a Procfile line")
	assertNoLeftovers(t, b, "hello")
}

func TestBuild_NodeAppGetsNpmStart(t *testing.T) {
	skipWithoutNPM(t)
	repo, sha := newRepo(t, files{
		"package.json": `{"name": "hello", "version": "1.0.0", "private": true,
			"scripts": {"start": "node server.js", "build": "node build.js"}}`,
		"server.js": "console.log('hi')\n",
		"build.js":  "require('fs').writeFileSync('built.txt', 'built')\n",
	})
	b := newBuilder(t, 0)
	rel, out := mustBuild(t, b, 1, repo, sha)

	if got, want := rel.Kind, KindNode; got != want {
		t.Errorf("Kind = %q, want %q", got, want)
	}
	if got, want := rel.Procfile, (slipway.Procfile{{Type: "web", Command: "npm start"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("Procfile = %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(rel.Dir, "built.txt")); err != nil {
		t.Errorf("npm run build did not run: %v", err)
	}
	for _, line := range []string{"-----> Running npm install --no-audit --no-fund", "-----> Running npm run build --if-present"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q", line)
		}
	}
	assertReadOnly(t, rel.Dir)
}

func TestBuild_NothingRecognisableFails(t *testing.T) {
	repo, sha := newRepo(t, files{"README.md": "hello\n"})
	b := newBuilder(t, 0)
	_, _, err := build(t, b, 1, repo, sha)
	assertBuildFailed(t, err, "no Procfile, go.mod, package.json, requirements.txt, pyproject.toml or index.html at the repository root: add a Procfile (web: COMMAND)")
	assertNoLeftovers(t, b, "hello")
}

func TestBuild_InvalidProcfileFails(t *testing.T) {
	repo, sha := newRepo(t, files{"Procfile": "web ./server\n"})
	b := newBuilder(t, 0)
	_, _, err := build(t, b, 1, repo, sha)
	assertBuildFailed(t, err, "invalid Procfile: line 1")
	if !errors.Is(err, slipway.ErrProcfile) {
		t.Errorf("error %q does not wrap ErrProcfile", err)
	}
	assertNoLeftovers(t, b, "hello")
}

func TestBuild_TimeoutKillsTheBuild(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The build would wait for the sleep for five minutes: only its 1s
	// limit can end it before the test's own deadline of two.
	repo, sha := newRepo(t, files{
		"app.json": `{"scripts": {"build": "sleep 300 & echo $! > ` + pidFile + `; wait"}}`,
		"Procfile": "web: ./server\n",
	})
	b := newBuilder(t, time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	_, err := b.Build(ctx, Request{App: "hello", Version: 1, Commit: sha, RepoDir: repo}, &out)
	t.Logf("build output:\n%s", out.String())
	if ctx.Err() != nil {
		t.Fatalf("the build ran until the test's deadline: its 1s limit did not end it (%v)", err)
	}
	assertBuildFailed(t, err, "build failed: scripts.build timed out after 1s")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not wrap context.DeadlineExceeded", err)
	}
	assertNoLeftovers(t, b, "hello")

	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !testutil.ProcessAlive(t, os.Getpid()) {
		t.Fatal("ProcessAlive does not see this test as alive")
	}
	// Build returns once every process of the step has closed its output,
	// so the sleep is gone, a zombie, or on its way out.
	if testutil.ProcessAlive(t, pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("sleep (pid %d) outlived the build", pid)
	}
}

func TestBuild_OutputIsStreamedAsProduced(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// The script waits for the test to answer its first line, which the
	// test only sees if output is forwarded before the script ends.
	repo, sha := newRepo(t, files{
		"app.json": `{"scripts": {"build": "echo waiting; read answer < ` + fifo + `; echo \"got $answer\""}}`,
		"Procfile": "web: ./server\n",
	})
	b := newBuilder(t, 30*time.Second)
	out := &answerWriter{trigger: "       waiting\n", fifo: fifo}
	_, err := b.Build(context.Background(), Request{App: "hello", Version: 1, Commit: sha, RepoDir: repo}, out)
	t.Logf("build output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	got := out.String()
	for _, line := range []string{"-----> Building hello v1 from commit " + sha[:12], "-----> Detected custom build", "-----> Running scripts.build: echo waiting", "       got yes\n", "-----> Build succeeded in "} {
		if !strings.Contains(got, line) {
			t.Errorf("output lacks %q", line)
		}
	}
}

// answerWriter records output and, once trigger appears, writes "yes" to
// the fifo.
type answerWriter struct {
	syncBuffer
	trigger  string
	fifo     string
	answered bool
}

func (w *answerWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if !w.answered && strings.Contains(w.String(), w.trigger) {
		w.answered = true
		go func() { _ = os.WriteFile(w.fifo, []byte("yes\n"), 0o600) }()
	}
	return n, err
}
