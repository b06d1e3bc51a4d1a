package releaser

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/router"
)

// The test binary doubles as the app the releaser runs: started with
// RELEASER_TEST_APP=1 it serves "release $SLIPWAY_RELEASE" on $PORT, or
// exits at once with RELEASER_TEST_APP=crash.
func TestMain(m *testing.M) {
	switch os.Getenv("RELEASER_TEST_APP") {
	case "1":
		srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "release %s %s", os.Getenv("SLIPWAY_RELEASE"), os.Getenv("DYNO"))
		})}
		go func() {
			c := make(chan os.Signal, 1)
			signal.Notify(c, syscall.SIGTERM)
			<-c
			srv.Shutdown(context.Background())
		}()
		srv.ListenAndServe()
		os.Exit(0)
	case "crash":
		fmt.Println("crashing on purpose")
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// appCommand is a Procfile web command that runs the test binary as an app.
func appCommand(t testing.TB, mode string) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return "RELEASER_TEST_APP=" + mode + " exec " + exe + " -test.run=^$"
}

// fixture is a releaser driving a real router, served over real HTTP.
type fixture struct {
	t        testing.TB
	rt       *router.Router
	rel      *Releaser
	srv      *httptest.Server
	versions map[string]slipway.Version // the last release of each app
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testLogWriter(), nil))
	rt := router.New(router.Config{Domain: "test", SessionTTL: cfg.SessionTTL, Logger: logger})
	cfg.DataDir = t.TempDir()
	cfg.Router = rt
	cfg.Logger = logger
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 2 * time.Second
	}
	rel := New(cfg)
	rel.Start()
	srv := httptest.NewServer(rt)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rel.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		rt.Close()
	})
	return &fixture{t: t, rt: rt, rel: rel, srv: srv, versions: map[string]slipway.Version{}}
}

// release deploys a new version of app running the test app in mode.
func (f *fixture) release(app, mode string, appJSON *slipway.AppJSON) (slipway.Version, error) {
	f.t.Helper()
	f.versions[app]++
	v := f.versions[app]
	dir := f.t.TempDir()
	var out strings.Builder
	err := f.rel.Release(context.Background(), Spec{
		App: app, Version: v, Commit: strings.Repeat("a", 40), Dir: dir,
		Procfile: slipway.Procfile{{Type: "web", Command: appCommand(f.t, mode)}},
		AppJSON:  appJSON,
	}, &out)
	return v, err
}

// get fetches / of app through the router with client.
func (f *fixture) get(client *http.Client, app string) string {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/", nil)
	req.Host = app + ".test"
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", app, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// waitFor polls cond until it holds, failing the test after testutil.Timeout.
var waitFor = testutil.WaitFor

// alive reports whether a process with pid exists.
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// testLogWriter sends the releaser's and router's log to stderr when
// RELEASER_TEST_LOG is set, and nowhere otherwise.
func testLogWriter() io.Writer {
	if os.Getenv("RELEASER_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
