package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// slipwayBin and appBin are the slipway binary under test and the test
// app, built once by TestMain.
var slipwayBin, appBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // the load tests, which need the binaries, skip themselves
	}
	dir, err := os.MkdirTemp("", "slipway-load-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The host's uid registry of the slipways this run starts: a file of
	// the run's own, not the real one in /etc.
	os.Setenv("SLIPWAY_UID_REGISTRY", filepath.Join(dir, "uid-ranges"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	slipwayBin, err = buildSlipway(ctx, dir)
	if err == nil {
		// The test app is built here, once, before any test starts its
		// clock, and every run uses it: a test's budget is for the load,
		// not for the compiler.
		appBin, err = buildApp(ctx, dir)
	}
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Blue-green deploys under a small load lose no request and move no session
// to another release.
func TestLoad_BlueGreenLosesNothing(t *testing.T) { testLoadLosesNothing(t, "push") }

// A config change, a scale change and a rolling restart under load lose
// no request either.
func TestLoad_ConfigScaleRestartLoseNothing(t *testing.T) {
	for _, action := range []string{"config", "scale", "restart"} {
		t.Run(action, func(t *testing.T) { testLoadLosesNothing(t, action) })
	}
}

// Upgrades of slipway in place and kill -9 with a restart, under load with
// a live and a draining pool, keep every app process and every session;
// upgrades lose no request, and a kill -9 under socket activation has no
// connection refused.
func TestLoad_UpgradeAndKill9KeepEveryProcess(t *testing.T) {
	for _, action := range []string{"upgrade", "kill9"} {
		t.Run(action, func(t *testing.T) { testLoadLosesNothing(t, action) })
	}
}

func testLoadLosesNothing(t *testing.T, action string) {
	testutil.SkipIfShortCompile(t)
	testutil.NeedTool(t, "git", "git")
	testutil.NeedTool(t, "ssh", "openssh-client")
	testutil.NeedTool(t, "ssh-keygen", "openssh-client")
	cfg := defaultConfig()
	cfg.Slipway, cfg.App = slipwayBin, appBin
	cfg.Strategy = blueGreen
	cfg.Rate = 300
	cfg.Sessions = 30
	cfg.Deploys = 3
	cfg.Interval = time.Second
	cfg.Warmup = 2 * time.Second
	cfg.Cooldown = time.Second
	cfg.Instances = 2
	cfg.Action = action
	cfg.Activation = action == "kill9"
	cfg.SessionRequests = 1000 // sessions pinned to the draining pool last through the restarts

	// 90 seconds for the run: the load and its deploys, and a build of
	// the test app that TestMain's compile left only to link.
	rep, out := runForTest(t, cfg, 90*time.Second)
	if len(rep.results) != 1 {
		t.Fatalf("got %d results, want 1\n%s", len(rep.results), out.String())
	}
	r := rep.results[0]
	if r.sent < 1000 {
		t.Errorf("sent %d requests, want about 300/s for 5s or more", r.sent)
	}
	switch {
	case action == "kill9" && r.failedBy["connection refused"] > 0:
		t.Errorf("%d connections refused after kill -9 under socket activation", r.failedBy["connection refused"])
	case action != "kill9" && r.failed > 0:
		t.Errorf("failed = %d, want 0", r.failed)
	}
	if (action == "upgrade" || action == "kill9") && !r.pidsKept {
		t.Errorf("app processes were restarted")
	}
	if got, want := r.flipped, int64(0); got != want {
		t.Errorf("flipped sessions = %d, want %d", got, want)
	}
	if got, want := r.deploys, 3; got != want {
		t.Errorf("deploys = %d, want %d", got, want)
	}
	if t.Failed() {
		r.writeDetails(out, true)
		t.Logf("output:\n%s", out.String())
	}
}

// runForTest runs cfg within limit in a work directory of the test's,
// and makes sure that slipway ends with the test. It returns the report
// and what the run wrote.
func runForTest(t *testing.T, cfg config, limit time.Duration) (report, *strings.Builder) {
	t.Helper()
	cfg.Dir = tempDir(t)
	cfg.started = func(p *os.Process) {
		t.Cleanup(func() { killIfRunning(t, p) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out := &strings.Builder{}
	rep, err := run(ctx, cfg, out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	return rep, out
}

// tempDir is a work directory removed at the end of the test, read-only
// release directories included.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "slipway-load-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil { // apps' own users pass through to the data dir
		t.Fatal(err)
	}
	t.Cleanup(func() {
		testutil.RemoveUsersUnder(dir)
		if t.Failed() {
			t.Logf("work directory kept: %s", dir)
			return
		}
		if err := removeAll(dir); err != nil {
			t.Errorf("remove %s: %v", filepath.Base(dir), err)
		}
	})
	return dir
}

// killIfRunning ends p, by its pid, if run left it running: SIGTERM, then
// SIGKILL after 30s. run's own goroutine waits for the process, so polling
// with signal 0 sees when it is gone.
func killIfRunning(t *testing.T, p *os.Process) {
	if err := p.Signal(syscall.SIGTERM); errors.Is(err, os.ErrProcessDone) {
		return
	}
	t.Errorf("slipway (pid %d) was still running after the test", p.Pid)
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for p.Signal(syscall.Signal(0)) == nil {
		select {
		case <-deadline:
			p.Kill()
			return
		case <-tick.C:
		}
	}
}

func TestLogField(t *testing.T) {
	line := `time=2026-01-02T03:04:05.678Z level=INFO msg="release live" component=releaser app=loadapp release=v3 instances=3`
	for _, tt := range []struct{ key, want string }{
		{"time", "2026-01-02T03:04:05.678Z"},
		{"msg", "release live"},
		{"app", "loadapp"},
		{"release", "v3"},
		{"instances", "3"},
		{"commit", ""},
		{"live", ""}, // a word inside a quoted value is not a key
	} {
		if got := logField(line, tt.key); got != tt.want {
			t.Errorf("logField(%s) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestCookieRoute(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{"awk2pQJ2MXdlYi4x05B4ZYu04gNoE0bHqU9tfw", "v1/web.1"}, // as slipway's router sets it
		{"", "-"},
		{"not base64!", "-"},
		{"AAAA", "-"}, // too short to hold a tag
	} {
		if got := cookieRoute(tt.value); got != tt.want {
			t.Errorf("cookieRoute(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		line      string
		pid, ppid int
		ticks     int64
		ok        bool
	}{
		{"1234 (app) S 1200 1234 1234 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 5 0", 1234, 1200, 10, true},
		{"77 (kdamond.0) S 2 0 0 0 -1 2129984 0 0 0 0 0 777 0 0 20 0 1 0", 77, 2, 777, true},
		{"9 (a) b) (c) R 8 9 9 0 -1 0 0 0 0 0 1 2 0 0", 9, 8, 3, true}, // a command name with ") "
		{"9 (short) R 8", 0, 0, 0, false},
		{"garbage", 0, 0, 0, false},
	} {
		pid, ppid, ticks, ok := parseStat(tt.line)
		if pid != tt.pid || ppid != tt.ppid || ticks != tt.ticks || ok != tt.ok {
			t.Errorf("parseStat(%q) = %d, %d, %d, %v; want %d, %d, %d, %v",
				tt.line, pid, ppid, ticks, ok, tt.pid, tt.ppid, tt.ticks, tt.ok)
		}
	}
}
