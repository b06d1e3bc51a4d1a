package apps

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/router"
	"github.com/slipway/slipway/sqlite"
)

// The test binary doubles as the app the use cases deploy: started with
// APPS_TEST_APP=1 it serves "release $SLIPWAY_RELEASE $DYNO $GREETING" on
// $PORT.
func TestMain(m *testing.M) {
	if os.Getenv("APPS_TEST_APP") == "1" {
		if os.Getenv("GREETING") == "crash" {
			os.Exit(3) // a config that makes the app fail its start
		}
		srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "release %s %s %s", os.Getenv("SLIPWAY_RELEASE"), os.Getenv("DYNO"), os.Getenv("GREETING"))
		})}
		go func() {
			c := make(chan os.Signal, 1)
			signal.Notify(c, syscall.SIGTERM)
			<-c
			srv.Shutdown(context.Background())
		}()
		srv.ListenAndServe()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fixture is a Service over a real SQLite file, the real builder and
// releaser, and a real router served over HTTP, with one app's bare
// repository and a work tree to commit in.
type fixture struct {
	t       *testing.T
	dataDir string
	db      *sqlite.DB
	rt      *router.Router
	srv     *httptest.Server
	svc     *Service
	app     string
	work    string // a clone to commit in
	repo    string // the app's bare repository
	// webhooks, when set, is the Webhooks the next start gives the
	// Service.
	webhooks Webhooks
}

// newFixture returns a fixture for the test, which gets a HOME of its own:
// neither its git nor the builder's reads the running user's config.
func newFixture(t *testing.T, rc releaser.Config) *fixture {
	t.Helper()
	testutil.PrivateHome(t)
	f := &fixture{t: t, dataDir: t.TempDir(), app: "app"}
	f.db = sqlite.NewDB(filepath.Join(f.dataDir, "slipway.db"))
	if err := f.db.Open(); err != nil {
		t.Fatal(err)
	}
	f.rt = router.New(router.Config{Domain: "test", SessionTTL: rc.SessionTTL, Logger: testLogger()})
	f.srv = httptest.NewServer(f.rt)
	f.repo = slipway.Layout{Root: f.dataDir}.Repo(f.app)
	f.work = t.TempDir()
	f.gitIn("", "init", "-q", "--bare", "-b", "main", f.repo)
	f.gitIn(f.work, "init", "-q", "-b", "main")
	f.svc = f.start(rc)
	t.Cleanup(func() {
		f.stop()
		f.srv.Close()
		f.rt.Close()
		f.db.Close()
	})
	return f
}

// start starts a Service on the fixture's data dir and database.
func (f *fixture) start(rc releaser.Config) *Service {
	rc.Router = f.rt
	if rc.StopGrace == 0 {
		rc.StopGrace = 2 * time.Second
	}
	svc := New(Config{
		DataDir: f.dataDir, Store: f.db, Releaser: rc, Domain: "test", Hosts: f.rt,
		Builder:  builder.New(builder.Config{DataDir: f.dataDir, Logger: testLogger()}),
		Webhooks: f.webhooks,
		Logger:   testLogger(),
	})
	svc.Start(context.Background())
	return svc
}

// stop shuts the fixture's Service down.
func (f *fixture) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.svc.Shutdown(ctx); err != nil {
		f.t.Errorf("shutdown: %v", err)
	}
}

// gitIn runs git in dir, for at most a minute, and returns its trimmed
// output.
func (f *fixture) gitIn(dir string, args ...string) string {
	f.t.Helper()
	cmd := testutil.Command(f.t, time.Minute, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// appFiles is a Procfile app running the test binary.
func appFiles(t *testing.T) map[string]string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"Procfile": "web: APPS_TEST_APP=1 exec " + exe + " -test.run=^$\n"}
}

// commit commits files in the work tree and sends the objects to the bare
// repository without moving its branch, as a push does before its
// pre-receive hook. It returns the push the hook would hand to Deploy.
func (f *fixture) commit(files map[string]string, message string) gitserver.Push {
	f.t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(f.work, name), []byte(body), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	f.gitIn(f.work, "add", "-A")
	f.gitIn(f.work, "commit", "-q", "--allow-empty", "-m", message)
	sha := f.gitIn(f.work, "rev-parse", "HEAD")
	f.gitIn(f.work, "push", "-q", f.repo, "HEAD:refs/incoming/"+sha)
	old, err := gitserver.RefValue(context.Background(), f.repo, "refs/heads/main")
	if err != nil {
		f.t.Fatal(err)
	}
	return gitserver.Push{App: f.app, Ref: "refs/heads/main", OldSHA: old, NewSHA: sha, RepoDir: f.repo,
		Pusher: gitserver.Pusher{Fingerprint: "SHA256:test", Comment: "tester"}}
}

// deploy runs Deploy for p and, when it succeeds, moves the branch as git
// does after the hook.
func (f *fixture) deploy(p gitserver.Push) (string, error) {
	f.t.Helper()
	var out strings.Builder
	err := f.svc.Deploy(context.Background(), p, &out)
	if err == nil {
		f.gitIn("", "--git-dir="+f.repo, "update-ref", p.Ref, p.NewSHA, p.OldSHA)
	}
	return out.String(), err
}

// push commits files and deploys them, failing the test on an error.
func (f *fixture) push(files map[string]string, message string) string {
	f.t.Helper()
	out, err := f.deploy(f.commit(files, message))
	if err != nil {
		f.t.Fatalf("deploy: %v\n%s", err, out)
	}
	return out
}

// get fetches / of the app through the router.
func (f *fixture) get(client *http.Client) string {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/", nil)
	req.Host = f.app + ".test"
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// statuses returns the app's history as "v3:live v2:draining v1:retired".
func (f *fixture) statuses() string {
	f.t.Helper()
	rels, err := f.db.ListReleases(context.Background(), f.app)
	if err != nil {
		f.t.Fatal(err)
	}
	var parts []string
	for _, r := range rels {
		parts = append(parts, r.Version.String()+":"+string(r.Status))
	}
	return strings.Join(parts, " ")
}

// processes returns the app's instances.
func (f *fixture) processes() []releaser.ProcessStatus {
	f.t.Helper()
	procs, err := f.svc.Processes(context.Background(), f.app)
	if err != nil {
		f.t.Fatal(err)
	}
	return procs
}

// waitFor polls cond until it holds, failing the test after testutil.Timeout.
var waitFor = testutil.WaitFor

// testLogger logs to stderr when APPS_TEST_LOG is set.
func testLogger() *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("APPS_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
