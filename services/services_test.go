package services

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/supervisor"
)

// testHost returns a host in a data dir of its own and a service of kind
// to run there. As root the server runs as nobody (PostgreSQL refuses
// root), confined by the sandbox, from a copy of the test binary that
// nobody may execute; otherwise as the test's own user.
func testHost(t testing.TB, kind slipway.ServiceKind) (Host, *slipway.BackingService) {
	t.Helper()
	srv, err := For(kind)
	if err != nil {
		t.Fatal(err)
	}
	version, err := srv.Version("")
	if err != nil {
		testutil.Missing(t, "%v", err)
	}
	root, err := os.MkdirTemp("", "slipway-services-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	l := slipway.Layout{Root: root}
	svc := &slipway.BackingService{Name: "db", Kind: kind, Version: version, Port: freePort(t), Password: "pw-" + strconv.Itoa(os.Getpid())}
	sb := &supervisor.Sandbox{}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody to run the server as")
		}
		svc.UID, _ = strconv.Atoi(u.Uid)
		exe, _ := os.Executable()
		data, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		sb.Launcher = filepath.Join(root, "launcher")
		if err := os.WriteFile(sb.Launcher, data, 0o755); err != nil {
			t.Fatal(err)
		}
		sb.UID, sb.GID = uint32(svc.UID), uint32(svc.UID)
	}
	sb.Write = []string{l.ServiceData(svc.Name), filepath.Dir(l.ServiceTmp(svc.Name))}
	for _, d := range []string{l.ServiceData(svc.Name), filepath.Dir(l.ServiceTmp(svc.Name))} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(d, svc.UID, svc.UID)
	}
	os.Chmod(l.ServiceDir(svc.Name), 0o755)
	os.Chmod(l.ServicesDir(), 0o755)
	return Host{Layout: l, Sandbox: sb}, svc
}

// freePort returns a loopback TCP port that was free a moment ago.
var freePort = testutil.FreePort

// startService initialises and starts svc, stopping it when the test ends.
func startService(t testing.TB, rt *Runtime, h Host, svc *slipway.BackingService) {
	t.Helper()
	srv, _ := For(svc.Kind)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	if err := srv.Init(ctx, h, svc, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	initialised := time.Since(start)
	if err := rt.Start(ctx, h, svc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Stop(svc.Name) })
	if err := srv.Setup(ctx, h, svc); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: initialised in %s, accepting connections %s after the start", svc.Kind, initialised, time.Since(start))
}

func psql(t *testing.T, h Host, svc *slipway.BackingService, q string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	out, err := postgres{}.query(ctx, h, svc, svc.Name, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func TestPostgres_StartsBacksUpRestoresAndStopsCleanly(t *testing.T) {
	h, svc := testHost(t, slipway.Postgres)
	var recorded []slipway.ServiceProcess
	rt := NewRuntime(RuntimeConfig{Record: func(_ string, p slipway.ServiceProcess) { recorded = append(recorded, p) }})
	startService(t, rt, h, svc)
	if len(recorded) == 0 || recorded[len(recorded)-1].PID == 0 {
		t.Fatalf("recorded %v, want the running server", recorded)
	}
	psql(t, h, svc, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')")

	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	backup := filepath.Join(h.Layout.ServiceBackups(svc.Name), "b.dump")
	if err := (postgres{}).Backup(ctx, h, svc, backup); err != nil {
		t.Fatal(err)
	}
	psql(t, h, svc, "INSERT INTO notes VALUES ('after the backup')")
	if _, err := (postgres{}).Restore(ctx, h, svc, backup); err != nil {
		t.Fatal(err)
	}
	if got := psql(t, h, svc, "SELECT string_agg(body, ',') FROM notes"); got != "kept" {
		t.Errorf("after the restore, notes = %q, want what the backup held", got)
	}

	// A file that is not a dump changes nothing and says so in one line.
	err := postgres{}.Load(ctx, h, svc, svc.Name, strings.NewReader("not a dump\n"))
	if err == nil || strings.Contains(err.Error(), "\n") || slipway.ErrorCode(err) != slipway.EINVALID {
		t.Errorf("import of garbage: %v, want one line", err)
	}
	if got := psql(t, h, svc, "SELECT count(*) FROM notes"); got != "1" {
		t.Errorf("after a failed import, %s rows, want 1", got)
	}

	// Export and import round trip.
	var dump bytes.Buffer
	if err := (postgres{}).Dump(ctx, h, svc, &dump); err != nil {
		t.Fatal(err)
	}
	psql(t, h, svc, "DELETE FROM notes")
	if err := (postgres{}).Load(ctx, h, svc, svc.Name, &dump); err != nil {
		t.Fatal(err)
	}
	if got := psql(t, h, svc, "SELECT count(*) FROM notes"); got != "1" {
		t.Errorf("after export and import, %s rows, want 1", got)
	}

	rt.Stop(svc.Name)
	log, _ := os.ReadFile(h.Layout.ServiceLog(svc.Name))
	if !strings.Contains(string(log), "fast shutdown request") || !strings.Contains(string(log), "database system is shut down") {
		t.Errorf("server log does not show a fast, clean shutdown:\n%s", tail(log))
	}
	if last := recorded[len(recorded)-1]; last.PID != 0 {
		t.Errorf("last record %+v, want none once stopped", last)
	}
}

// The superuser of a service, which every linked app is, cannot reach
// past the service's sandbox: a file every user may read by its mode, in
// slipway's data dir, stays out of reach of the server and the programs it
// runs (COPY FROM PROGRAM).
func TestPostgres_TheSuperuserStaysInTheSandbox(t *testing.T) {
	if supervisor.LandlockABI() == 0 {
		t.Skip("this kernel has no Landlock")
	}
	h, svc := testHost(t, slipway.Postgres)
	rt := NewRuntime(RuntimeConfig{})
	startService(t, rt, h, svc)
	secret := filepath.Join(h.Layout.Root, "slipway.db")
	if err := os.WriteFile(secret, []byte("slipway's own\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	for _, q := range []string{
		fmt.Sprintf("SELECT pg_read_file('%s')", secret),
		fmt.Sprintf("CREATE TEMP TABLE x (l text); COPY x FROM PROGRAM 'cat %s'", secret),
	} {
		out, err := postgres{}.query(ctx, h, svc, svc.Name, q)
		if err == nil || strings.Contains(out, "slipway's own") {
			t.Errorf("%s: %q, %v: want it refused", q, out, err)
		}
	}
	if got := psql(t, h, svc, "SELECT 1"); got != "1" {
		t.Errorf("the service after the refusals: %q", got)
	}
}

func TestPostgres_AdoptedByTheNextRuntime(t *testing.T) {
	h, svc := testHost(t, slipway.Postgres)
	var rec slipway.ServiceProcess
	first := NewRuntime(RuntimeConfig{Record: func(_ string, p slipway.ServiceProcess) { rec = p }})
	startService(t, first, h, svc)
	psql(t, h, svc, "CREATE TABLE t (n int); INSERT INTO t VALUES (1)")
	first.Detach()

	svc.Running = rec
	next := NewRuntime(RuntimeConfig{Record: func(_ string, p slipway.ServiceProcess) { rec = p }})
	if !next.Adopt(h, svc) {
		t.Fatal("the next runtime did not adopt the running server")
	}
	t.Cleanup(func() { next.Stop(svc.Name) })
	if info, _ := next.Info(svc.Name); info.PID != svc.Running.PID {
		t.Errorf("adopted pid %d, want %d", info.PID, svc.Running.PID)
	}
	if got := psql(t, h, svc, "SELECT n FROM t"); got != "1" {
		t.Errorf("got %q", got)
	}
}

func TestRedis_StartsBacksUpRestoresAndSavesOnStop(t *testing.T) {
	h, svc := testHost(t, slipway.Redis)
	rt := NewRuntime(RuntimeConfig{})
	startService(t, rt, h, svc)
	cli := func(args ...string) string {
		t.Helper()
		argv, env, err := redis{}.Client(h, svc)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
		defer cancel()
		if err := h.run(ctx, svc, append(argv, args...), env, nil, &out, io.Discard); err != nil {
			t.Fatalf("redis-cli %v: %v", args, err)
		}
		return strings.TrimSpace(out.String())
	}
	cli("SET", "k", "kept")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	backup := filepath.Join(h.Layout.ServiceBackups(svc.Name), "b.rdb")
	if err := (redis{}).Backup(ctx, h, svc, backup); err != nil {
		t.Fatal(err)
	}
	cli("SET", "k", "after the backup")
	rt.Stop(svc.Name)
	if err := (redis{}).Restore(h, svc, backup); err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx, h, svc); err != nil {
		t.Fatal(err)
	}
	if got := cli("GET", "k"); got != "kept" {
		t.Errorf("after the restore, k = %q, want what the backup held", got)
	}
	cli("SET", "k", "saved on stop")
	rt.Stop(svc.Name)
	if err := rt.Start(ctx, h, svc); err != nil {
		t.Fatal(err)
	}
	if got := cli("GET", "k"); got != "saved on stop" {
		t.Errorf("after a stop and start, k = %q", got)
	}

	// A wrong password is refused.
	if err := redisAccepting(ctx, svc.Port, "wrong"); err == nil {
		t.Error("a wrong password was accepted")
	}
	// A snapshot cut short does not pass the check.
	data, _ := os.ReadFile(backup)
	short := filepath.Join(t.TempDir(), "short.rdb")
	os.WriteFile(short, data[:len(data)-3], 0o600)
	if err := checkRDB(short); err == nil {
		t.Error("a cut snapshot passed the check")
	}
}

func tail(b []byte) string {
	lines := strings.Split(string(b), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}
