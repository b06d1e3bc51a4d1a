package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// notesApp is a Python web app of the kind the backing services are for:
// a Procfile app (no requirements.txt, so nothing is built) run by the
// host's /usr/bin/python3, which imports Debian's python3-psycopg2 and
// python3-redis. POST /note?text=X inserts X into table notes of
// DATABASE_URL and INCRs counter notes of REDIS_URL; GET / answers every
// note and the counter as JSON. It connects anew for each request, as a
// pool reconnects, and answers 200 without its services (for the health
// check of its first release, before any link).
func notesApp(version string) map[string]string {
	return map[string]string{
		"Procfile": "web: /usr/bin/python3 app.py\n",
		"app.py": `import http.server, json, os, urllib.parse
import psycopg2, redis

VERSION = "` + version + `"


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def serve(self, write):
        url = urllib.parse.urlparse(self.path)
        text = urllib.parse.parse_qs(url.query).get("text", [None])[0]
        if write and (url.path != "/note" or not text):
            return self.answer(404, json.dumps({"error": "POST /note?text=X"}))
        out = {"version": VERSION, "notes": None, "count": None}
        try:
            r = None
            if os.environ.get("REDIS_URL"):
                r = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=10)
            if os.environ.get("DATABASE_URL"):
                conn = psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=10)
                try:
                    with conn, conn.cursor() as cur:
                        cur.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, text text NOT NULL)")
                        if write:
                            cur.execute("INSERT INTO notes (text) VALUES (%s)", (text,))
                        cur.execute("SELECT text FROM notes ORDER BY id")
                        out["notes"] = [row[0] for row in cur.fetchall()]
                finally:
                    conn.close()
            if r is not None:
                if write:
                    r.incr("notes")
                out["count"] = int(r.get("notes") or 0)
        except Exception as e:
            return self.answer(500, json.dumps({"error": "%s: %s" % (type(e).__name__, str(e).strip())}))
        self.answer(200, json.dumps(out))

    def do_GET(self):
        self.serve(False)

    def do_POST(self):
        self.serve(True)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`,
	}
}

// notesState is what notesApp's GET / answers.
type notesState struct {
	Version string   `json:"version"`
	Notes   []string `json:"notes"`
	Count   *int     `json:"count"`
}

// notesRequest sends method path to app through the router and returns
// the status and body.
func notesRequest(t *testing.T, s *server, method, app, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.httpAddr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = app + "." + testDomain
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, app, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s%s: read the body: %v", method, app, path, err)
	}
	return resp.StatusCode, string(body)
}

// readNotes returns what app's GET / answers, failing the test unless it
// is 200 with notesApp's JSON.
func readNotes(t *testing.T, s *server, app string) notesState {
	t.Helper()
	code, body := notesRequest(t, s, http.MethodGet, app, "/")
	var st notesState
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET %s/ = %d %q, want 200 with the notes\nslipway log:\n%s", app, code, body, s.logText())
	}
	return st
}

// writeNote has app write note text to its database and count it in its
// Redis.
func writeNote(t *testing.T, s *server, app, text string) notesState {
	t.Helper()
	code, body := notesRequest(t, s, http.MethodPost, app, "/note?text="+text)
	var st notesState
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("POST %s/note?text=%s = %d %q, want 200\nslipway log:\n%s", app, text, code, body, s.logText())
	}
	return st
}

// wantNotes fails the test unless app serves exactly notes and, when
// count >= 0, that counter.
func wantNotes(t *testing.T, s *server, app, when string, notes []string, count int) notesState {
	t.Helper()
	st := readNotes(t, s, app)
	if !slices.Equal(st.Notes, notes) {
		t.Errorf("%s: %s serves notes %q, want %q", when, app, st.Notes, notes)
	}
	if count >= 0 && (st.Count == nil || *st.Count != count) {
		got := "none"
		if st.Count != nil {
			got = strconv.Itoa(*st.Count)
		}
		t.Errorf("%s: %s serves counter %s, want %d", when, app, got, count)
	}
	return st
}

// needServiceServers skips the test unless the host has what the backing
// services and notesApp run on: Debian's postgresql, redis-server and
// redis-tools, and python3-psycopg2 and python3-redis for /usr/bin/python3.
func needServiceServers(t *testing.T) {
	t.Helper()
	if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres"); len(found) == 0 {
		testutil.Missing(t, "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): apt-get install postgresql")
	}
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			testutil.Missing(t, "%s is not installed: apt-get install redis-server", bin)
		}
	}
	out, err := testutil.Command(t, time.Minute, "/usr/bin/python3", "-c", "import psycopg2, redis").CombinedOutput()
	if err != nil {
		testutil.Missing(t, "/usr/bin/python3 cannot import psycopg2 and redis (apt-get install python3-psycopg2 python3-redis): %v: %s", err, strings.TrimSpace(string(out)))
	}
}

// serviceInfo is what SERVICE:info NAME --json says of a service.
type serviceInfo struct {
	Name  string `json:"name"`
	State string `json:"state"`
	PID   int    `json:"pid"`
	URL   string `json:"url"`
	Links []struct {
		App string `json:"app"`
		Var string `json:"var"`
	} `json:"links"`
}

// infoOf runs KIND:info NAME --json.
func infoOf(t *testing.T, s *server, kind, name string) serviceInfo {
	t.Helper()
	out := s.mustSSH(kind+":info", name, "--json")
	var info serviceInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%s:info %s --json: %v\n%s", kind, name, err, out)
	}
	return info
}

// runningPID waits until service name of kind runs and returns its
// server's pid, checked to be a process that runs.
func runningPID(t *testing.T, s *server, kind, name string) int {
	t.Helper()
	var info serviceInfo
	up := false
	defer func() {
		if !up { // waitFor failed the test
			t.Logf("%s:info %s --json said last: %+v", kind, name, info)
		}
	}()
	waitFor(t, kind+" service "+name+" to run", func() bool {
		info = infoOf(t, s, kind, name)
		return info.State == "up" && info.PID > 0
	})
	up = true
	if !testutil.ProcessAlive(t, info.PID) {
		t.Fatalf("%s:info %s says pid %d, which does not run", kind, name, info.PID)
	}
	return info.PID
}

// startWithServices skips the test without the servers, else starts
// slipway and creates postgres service db and redis service cache on it.
// It returns the server and the pids of the services' servers seen
// running, db's and cache's first, to which the test adds those it sees
// later: any that outlives slipway is killed at the end.
func startWithServices(t *testing.T) (*server, *[]int) {
	t.Helper()
	needServiceServers(t)
	pids := &[]int{}
	s := newServer(t, os.Geteuid())
	killServicesAtEnd(t, s.dataDir, pids)
	s.start()
	createService(t, s, "postgres", "db")
	createService(t, s, "redis", "cache")
	*pids = append(*pids, runningPID(t, s, "postgres", "db"), runningPID(t, s, "redis", "cache"))
	return s, pids
}

// killServicesAtEnd kills, at the end of the test and after the server
// stopped (it is registered before the server starts), every process in
// pids that still runs with dataDir on its command line: the services'
// servers, should the test end while slipway is killed.
func killServicesAtEnd(t *testing.T, dataDir string, pids *[]int) {
	t.Cleanup(func() {
		for _, pid := range *pids {
			cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			if err == nil && strings.Contains(string(cmdline), dataDir) && testutil.ProcessAlive(t, pid) {
				t.Logf("killing the server process %d that outlived slipway", pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

var tookRE = regexp.MustCompile(`is running \(([0-9.]+s)\)`)

// createService runs KIND:create NAME and logs how long it said it took.
func createService(t *testing.T, s *server, kind, name string) {
	t.Helper()
	start := time.Now()
	out := s.mustSSH(kind+":create", name)
	m := tookRE.FindStringSubmatch(out)
	if m == nil {
		t.Errorf("%s:create %s does not say it runs and how long it took:\n%s", kind, name, out)
		return
	}
	t.Logf("%s:create %s: the server ran after %s by its own count, %s by the client's", kind, name, m[1], time.Since(start).Round(time.Millisecond))
}

// linkService runs KIND:link NAME APP, checks that it set wantVar in a
// config release, and logs how long that took.
func linkService(t *testing.T, s *server, kind, name, app, wantVar string) {
	t.Helper()
	start := time.Now()
	out := s.mustSSH(kind+":link", name, app)
	took := time.Since(start).Round(time.Millisecond)
	if !strings.Contains(out, "Linked "+name+" to "+app+" as "+wantVar) || !regexp.MustCompile(`(?m)^-----> v\d+ is live$`).MatchString(out) {
		t.Errorf("%s:link %s %s did not say it set %s in a release that went live:\n%s", kind, name, app, wantVar, out)
	}
	t.Logf("%s:link %s %s: its config release went live in %s (client's count)", kind, name, app, took)
}

// newestBackup returns the name of the newest backup KIND:backups NAME
// lists.
func newestBackup(t *testing.T, s *server, kind, name string) string {
	t.Helper()
	out := s.mustSSH(kind+":backups", name)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("%s:backups %s lists none:\n%s", kind, name, out)
	}
	return strings.Fields(lines[1])[0]
}

// The "done means": a Python app using DATABASE_URL (Debian's
// python3-psycopg2) and REDIS_URL keeps its data across a push, a
// rollback, kill -9 of slipway, an upgrade in place and a backup and
// restore, over real ssh and git with the real servers; the servers are
// adopted (same pids) across the kill and the upgrade, and supervised by
// the slipway that adopted them.
func TestServices_PythonAppKeepsItsData(t *testing.T) {
	began := time.Now()
	s, pids := startWithServices(t)
	pg, rd := (*pids)[0], (*pids)[1]

	// The first release runs without its services; each link is a
	// config release that gives it one.
	dir := s.newApp(notesApp("first"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("notes"))
	s.mustGit(dir, "push", "deploy", "main")
	if st := readNotes(t, s, "notes"); st.Notes != nil || st.Count != nil {
		t.Fatalf("before any link the app has services: %+v", st)
	}
	linkService(t, s, "postgres", "db", "notes", "DATABASE_URL")
	linkService(t, s, "redis", "cache", "notes", "REDIS_URL")
	if cfg := s.mustSSH("config", "notes"); !strings.Contains(cfg, "DATABASE_URL") || !strings.Contains(cfg, "REDIS_URL") || strings.Contains(cfg, infoOfReveal(t, s, "postgres", "db")) {
		t.Errorf("config notes does not show both links masked:\n%s", cfg)
	}
	if st := writeNote(t, s, "notes", "A"); !slices.Equal(st.Notes, []string{"A"}) || st.Count == nil || *st.Count != 1 {
		t.Fatalf("writing A answered %+v", st)
	}

	// A push of new code: a new release, the same data.
	s.commit(dir, "second", notesApp("second"))
	if out := s.mustGit(dir, "push", "deploy", "main"); !strings.Contains(out, "v4 is live") {
		t.Errorf("the second push did not make v4 live:\n%s", out)
	}
	if st := wantNotes(t, s, "notes", "after a push", []string{"A"}, 1); st.Version != "second" {
		t.Errorf("after the push the app runs %q, want second", st.Version)
	}

	// A rollback to the release before it (the link's): the same data.
	if out := s.mustSSH("rollback", "notes"); !strings.Contains(out, "Rolling back notes to v3 as v5") {
		t.Errorf("rollback output:\n%s", out)
	}
	if st := wantNotes(t, s, "notes", "after a rollback", []string{"A"}, 1); st.Version != "first" {
		t.Errorf("after the rollback the app runs %q, want first", st.Version)
	}

	// kill -9 of slipway, then a start on the same data dir: both servers
	// are adopted, not started again, and the app finds its data.
	killSlipway(t, s)
	if !testutil.ProcessAlive(t, pg) || !testutil.ProcessAlive(t, rd) {
		t.Fatalf("the servers died with slipway: postgres %d alive %v, redis %d alive %v", pg, testutil.ProcessAlive(t, pg), rd, testutil.ProcessAlive(t, rd))
	}
	s.start()
	if got := runningPID(t, s, "postgres", "db"); got != pg {
		t.Errorf("after kill -9 and a start, postgres runs as pid %d, want the adopted %d\n%s", got, pg, s.logText())
	}
	if got := runningPID(t, s, "redis", "cache"); got != rd {
		t.Errorf("after kill -9 and a start, redis runs as pid %d, want the adopted %d\n%s", got, rd, s.logText())
	}
	if n := strings.Count(s.logText(), `msg="service adopted"`); n != 2 {
		t.Errorf("the new slipway logged %d adoptions of services, want 2", n)
	}
	wantNotes(t, s, "notes", "after kill -9 of slipway", []string{"A"}, 1)
	writeNote(t, s, "notes", "B")

	// An upgrade in place: the servers are handed over, not restarted.
	s.upgrade(func(pid int) { syscall.Kill(pid, syscall.SIGHUP) })
	if got := runningPID(t, s, "postgres", "db"); got != pg {
		t.Errorf("after the upgrade, postgres runs as pid %d, want the same %d\n%s", got, pg, s.logText())
	}
	if got := runningPID(t, s, "redis", "cache"); got != rd {
		t.Errorf("after the upgrade, redis runs as pid %d, want the same %d\n%s", got, rd, s.logText())
	}
	wantNotes(t, s, "notes", "after the upgrade", []string{"A", "B"}, 2)

	// The adopted servers are supervised by the new slipway: killed, each
	// is started again on its data.
	for _, p := range []int{pg, rd} {
		syscall.Kill(p, syscall.SIGKILL)
	}
	waitFor(t, "the killed servers to be started again", func() bool {
		db, cache := infoOf(t, s, "postgres", "db"), infoOf(t, s, "redis", "cache")
		return db.State == "up" && db.PID > 0 && db.PID != pg && cache.State == "up" && cache.PID > 0 && cache.PID != rd
	})
	pg, rd = runningPID(t, s, "postgres", "db"), runningPID(t, s, "redis", "cache")
	*pids = append(*pids, pg, rd)
	wantNotes(t, s, "notes", "after the servers were killed and started again", []string{"A", "B"}, 2)

	// A backup of each, a write after it, and a restore of each: the
	// write is gone, what the backups hold is back.
	for _, svc := range []struct{ kind, name, ext string }{{"postgres", "db", ".dump"}, {"redis", "cache", ".rdb"}} {
		out := s.mustSSH(svc.kind+":backup", svc.name)
		if !regexp.MustCompile(`=====> Backed up ` + svc.name + `: ` + svc.name + `-\d{8}T\d{6}Z\` + svc.ext + ` \(.+\), checked readable`).MatchString(out) {
			t.Errorf("%s:backup %s said:\n%s", svc.kind, svc.name, out)
		}
	}
	writeNote(t, s, "notes", "C")
	wantNotes(t, s, "notes", "after writing C", []string{"A", "B", "C"}, 3)
	dump := newestBackup(t, s, "postgres", "db")
	out := s.mustSSH("postgres:restore", "db", dump)
	if !strings.Contains(out, "=====> Restored db from "+dump+": restored into a database of its own while the apps ran, then swapped in") {
		t.Errorf("postgres:restore db %s said:\n%s", dump, out)
	}
	t.Logf("postgres:restore said: %s", strings.TrimSpace(out))
	rdb := newestBackup(t, s, "redis", "cache")
	out = s.mustSSH("redis:restore", "cache", rdb)
	if !strings.Contains(out, "=====> Restored cache from "+rdb+": the server was stopped, given the snapshot and started again") {
		t.Errorf("redis:restore cache %s said:\n%s", rdb, out)
	}
	t.Logf("redis:restore said: %s", strings.TrimSpace(out))
	wantNotes(t, s, "notes", "after the restores", []string{"A", "B"}, 2)
	if got := runningPID(t, s, "postgres", "db"); got != pg {
		t.Errorf("postgres:restore restarted the server: pid %d, was %d", got, pg)
	}
	// The app goes on writing through its next connections.
	writeNote(t, s, "notes", "D")
	wantNotes(t, s, "notes", "after writing D", []string{"A", "B", "D"}, 3)

	// The servers started again (db's by its supervisor, cache's by the
	// restore) were recorded: another kill -9 and start adopts them.
	rd = runningPID(t, s, "redis", "cache")
	*pids = append(*pids, rd)
	killSlipway(t, s)
	s.start()
	if got := runningPID(t, s, "postgres", "db"); got != pg {
		t.Errorf("after a second kill -9 and start, postgres runs as pid %d, want the adopted %d\n%s", got, pg, s.logText())
	}
	if got := runningPID(t, s, "redis", "cache"); got != rd {
		t.Errorf("after a second kill -9 and start, redis runs as pid %d, want the adopted %d\n%s", got, rd, s.logText())
	}
	wantNotes(t, s, "notes", "after a second kill -9 of slipway", []string{"A", "B", "D"}, 3)
	t.Logf("the whole cycle took %s", time.Since(began).Round(time.Millisecond))
}

// killSlipway kills the slipway serving s with SIGKILL and waits until it
// is gone: the test's child, or the process an upgrade handed over to.
func killSlipway(t *testing.T, s *server) {
	t.Helper()
	if s.pid == s.cmd.Process.Pid {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		return
	}
	pid := s.pid
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "the killed slipway to be gone", func() bool { return !processAlive(pid) })
	s.pid = s.cmd.Process.Pid // exited: nothing is left to stop
}

// infoOfReveal returns the password in KIND:info NAME --reveal --json's
// URL, for checking that nothing else shows it.
func infoOfReveal(t *testing.T, s *server, kind, name string) string {
	t.Helper()
	out := s.mustSSH(kind+":info", name, "--reveal", "--json")
	var info serviceInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%s:info %s --reveal --json: %v\n%s", kind, name, err, out)
	}
	m := regexp.MustCompile(`^\w+://\w*:([0-9a-f]{16,})@127\.0\.0\.1:\d+`).FindStringSubmatch(info.URL)
	if m == nil {
		t.Fatalf("%s:info %s --reveal shows no password in %q", kind, name, info.URL)
	}
	return m[1]
}

// portOfURL is the port of a service's URL.
func portOfURL(t *testing.T, url string) string {
	t.Helper()
	m := regexp.MustCompile(`@127\.0\.0\.1:(\d+)`).FindStringSubmatch(url)
	if m == nil {
		t.Fatalf("no port in the service URL %q", url)
	}
	return m[1]
}

// probeApp is an app that is linked to nothing, with probe.py, which
// tries to log in to a service on the host's loopback with a password and
// says whether it could.
func probeApp() map[string]string {
	app := staticApp("other")
	app["probe.py"] = `import sys
kind, port, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    if kind == "postgres":
        import psycopg2
        psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password=password, dbname="db", connect_timeout=10).close()
    else:
        import redis
        redis.Redis(host="127.0.0.1", port=port, password=password or None, socket_timeout=10).ping()
    print("connected")
except Exception as e:
    print("refused:", type(e).__name__, " ".join(str(e).split()))
`
	return app
}

// oneLineFailure fails the test unless a command failed with one line
// that holds want and nothing of a crash.
func oneLineFailure(t *testing.T, what string, out string, err error, want string) {
	t.Helper()
	text := strings.TrimSpace(out)
	switch {
	case err == nil:
		t.Errorf("%s succeeded, want a failure:\n%s", what, out)
	case strings.Contains(text, "\n"):
		t.Errorf("%s failed in more than one line:\n%s", what, out)
	case !strings.Contains(text, want):
		t.Errorf("%s said %q, want %q in it", what, text, want)
	case strings.Contains(text, "internal error") || strings.Contains(text, "panic") || strings.Contains(text, "goroutine"):
		t.Errorf("%s failed like a crash: %q", what, text)
	default:
		t.Logf("%s: %s", what, text)
	}
}

// Wrong input to the services' commands fails in one line and harms
// neither the service nor the app linked to it; an app that is not
// linked reads none of a service's files and cannot log in to it without
// its password; a backup on a full disk says so and leaves nothing; a
// service is destroyed only once no app is linked to it, and then its
// directory goes.
func TestServices_BadInputAndIsolation(t *testing.T) {
	began := time.Now()
	s, _ := startWithServices(t)
	dir := s.newApp(notesApp("first"))
	s.mustGit(dir, "push", s.remote("notes"), "main")
	linkService(t, s, "postgres", "db", "notes", "DATABASE_URL")
	linkService(t, s, "redis", "cache", "notes", "REDIS_URL")
	writeNote(t, s, "notes", "kept")
	count := 1 // Redis's counter of the notes written
	stillServes := func(when string) {
		t.Helper()
		if info := infoOf(t, s, "postgres", "db"); info.State != "up" {
			t.Errorf("%s: db is %s", when, info.State)
		}
		wantNotes(t, s, "notes", when, []string{"kept"}, count)
	}

	// Each wrong command: one line, a failure, and everything serves on.
	garbage := filepath.Join(t.TempDir(), "not-a-dump")
	if err := os.WriteFile(garbage, []byte("this is not a pg_dump archive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"postgres:info", "nosuch"}, "", `no postgres service named "nosuch"`},
		{[]string{"postgres:link", "nosuch", "notes"}, "", `no postgres service named "nosuch"`},
		{[]string{"postgres:link", "db", "ghost"}, "", "ghost"},
		{[]string{"postgres:import", "db"}, garbage, "pg_restore"},
		{[]string{"postgres:destroy", "db", "--confirm", "db"}, "", "db is still linked to notes"},
		{[]string{"postgres:destroy", "db", "--confirm", "dbx"}, "", "does not match"},
		{[]string{"redis:info", "db"}, "", `"db" is a postgres service, not a redis one`},
		{[]string{"postgres:restore", "db", "../../../etc/passwd"}, "", "is no backup's name"},
		{[]string{"postgres:restore", "db", "db-20200101T000000Z.dump"}, "", "db has no backup named"},
	} {
		cmd := s.sshCmd(nil, c.args...)
		if c.stdin != "" {
			f, err := os.Open(c.stdin)
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdin = f
		}
		out, err := cmd.CombinedOutput()
		if f, ok := cmd.Stdin.(*os.File); ok {
			f.Close()
		}
		oneLineFailure(t, "ssh "+strings.Join(c.args, " "), string(out), err, c.want)
		stillServes("after " + strings.Join(c.args, " "))
	}
	if cfg := s.mustSSH("config", "notes"); !strings.Contains(cfg, "DATABASE_URL") {
		t.Errorf("the refused commands changed the app's config:\n%s", cfg)
	}

	// An export, then an import of it, puts the data back as it was.
	export := s.sshCmd(nil, "postgres:export", "db")
	var stderr strings.Builder
	export.Stderr = &stderr
	dump, err := export.Output()
	if err != nil || !strings.HasPrefix(string(dump), "PGDMP") {
		t.Fatalf("postgres:export db: %v, %d bytes starting %q\n%s", err, len(dump), dump[:min(len(dump), 8)], stderr.String())
	}
	writeNote(t, s, "notes", "after-export")
	count++
	imp := s.sshCmd(nil, "postgres:import", "db")
	imp.Stdin = strings.NewReader(string(dump))
	if out, err := imp.CombinedOutput(); err != nil || !strings.Contains(string(out), "Imported the dump into db") {
		t.Errorf("postgres:import db of its export: %v\n%s", err, out)
	}
	stillServes("after importing the export")

	// An app that is not linked: it runs as a user of its own, which
	// reads nothing of the services' data, and it cannot log in without
	// the password, to either server.
	s.mustGit(s.newApp(probeApp()), "push", s.remote("other"), "main")
	if cfg := s.mustSSH("config", "other"); strings.Contains(cfg, "DATABASE_URL") || strings.Contains(cfg, "REDIS_URL") {
		t.Errorf("an app that is not linked has a service's URL:\n%s", cfg)
	}
	for _, path := range []string{
		filepath.Join(s.dataDir, "services", "db", "data", "PG_VERSION"),
		filepath.Join(s.dataDir, "services", "db", "data", "global", "pg_control"),
		filepath.Join(s.dataDir, "services", "cache", "data", "redis.conf"),
		filepath.Join(s.dataDir, "services", "cache", "data", "dump.rdb"),
		filepath.Join(s.dataDir, "services", "db", "logs", "server.log"),
	} {
		if _, err := os.Stat(path); err != nil {
			if path != filepath.Join(s.dataDir, "services", "cache", "data", "dump.rdb") {
				t.Errorf("%s, which the other app must not read, does not exist for the test to try: %v", path, err)
			}
			continue
		}
		out, err := s.sshCmd(nil, "run", "other", "cat", path).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("run other cat %s: %v, want permission denied:\n%.300s", path, err, out)
		}
	}
	for _, d := range []string{filepath.Join(s.dataDir, "services", "db", "data"), filepath.Join(s.dataDir, "services", "db"), filepath.Join(s.dataDir, "services", "cache", "data")} {
		out, err := s.sshCmd(nil, "run", "other", "ls", d).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("run other ls %s: %v, want permission denied:\n%.300s", d, err, out)
		}
	}
	password := infoOfReveal(t, s, "postgres", "db")
	for _, c := range []struct{ kind, name, password, what, want string }{
		{"postgres", "db", "wrong", "a wrong password", "password authentication failed"},
		{"postgres", "db", "", "no password", "refused:"},
		{"redis", "cache", "wrong", "a wrong password", "refused:"},
		{"redis", "cache", "", "no password", "refused:"},
		{"redis", "cache", password, "db's password", "refused:"},
	} {
		port := portOfURL(t, infoOf(t, s, c.kind, c.name).URL)
		pw := c.password
		if pw == "" {
			pw = "''"
		}
		out, _ := s.sshCmd(nil, "run", "other", "/usr/bin/python3", "probe.py", c.kind, port, pw).CombinedOutput()
		if !strings.Contains(string(out), c.want) || strings.Contains(string(out), "connected") {
			t.Errorf("the other app logging in to %s with %s: %s, want %q", c.name, c.what, strings.TrimSpace(string(out)), c.want)
		} else {
			t.Logf("the other app logging in to %s with %s: %s", c.name, c.what, strings.TrimSpace(string(out)))
		}
	}
	// The same probe with the right password connects: the refusals were
	// the password's.
	out, _ := s.sshCmd(nil, "run", "other", "/usr/bin/python3", "probe.py", "postgres", portOfURL(t, infoOf(t, s, "postgres", "db").URL), password).CombinedOutput()
	if strings.TrimSpace(string(out)) != "connected" {
		t.Errorf("the probe with db's password: %s, want connected", out)
	}

	// A backup on a full disk: one line, no file left, the service runs
	// on; with room again the same command works.
	if os.Geteuid() != 0 {
		t.Log("not root: the full-disk backup, which mounts a tmpfs, is not tried")
	} else {
		backups := filepath.Join(s.dataDir, "services", "db", "backups")
		if err := syscall.Mount("tmpfs", backups, "tmpfs", 0, "size=1M,mode=0700"); err != nil {
			t.Fatalf("mount a tmpfs on %s: %v", backups, err)
		}
		mounted := true
		unmount := func() {
			if mounted {
				if err := syscall.Unmount(backups, syscall.MNT_DETACH); err != nil {
					t.Errorf("unmount %s: %v", backups, err)
				}
				mounted = false
			}
		}
		t.Cleanup(unmount)
		filler := filepath.Join(backups, "filler")
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		for chunk := make([]byte, 64<<10); ; {
			if _, err := f.Write(chunk); err != nil {
				break // ENOSPC
			}
		}
		f.Close()
		out, err := s.ssh(s.key, "postgres:backup", "db")
		oneLineFailure(t, "postgres:backup db on a full disk", out, err, "no space left")
		if left, _ := os.ReadDir(backups); len(left) != 1 {
			var names []string
			for _, e := range left {
				names = append(names, e.Name())
			}
			t.Errorf("after the failed backup %s holds %v, want only the filler", backups, names)
		}
		if out := s.mustSSH("postgres:backups", "db"); !strings.Contains(out, "db has no backups") {
			t.Errorf("postgres:backups lists a failed backup:\n%s", out)
		}
		stillServes("after a backup on a full disk")
		os.Remove(filler)
		if out := s.mustSSH("postgres:backup", "db"); !strings.Contains(out, "Backed up db") {
			t.Errorf("postgres:backup with room again:\n%s", out)
		}
		unmount()
	}

	// Destroy: refused while linked (above); after the unlinks it stops
	// the servers and removes their directories.
	s.mustSSH("postgres:unlink", "db", "notes")
	s.mustSSH("redis:unlink", "cache", "notes")
	if st := readNotes(t, s, "notes"); st.Notes != nil || st.Count != nil {
		t.Errorf("after the unlinks the app still has its services: %+v", st)
	}
	for _, svc := range []struct{ kind, name string }{{"postgres", "db"}, {"redis", "cache"}} {
		pid := runningPID(t, s, svc.kind, svc.name)
		out := s.mustSSH(svc.kind+":destroy", svc.name, "--confirm", svc.name)
		if !strings.Contains(out, svc.name+" is destroyed") {
			t.Errorf("%s:destroy %s said:\n%s", svc.kind, svc.name, out)
		}
		if _, err := os.Stat(filepath.Join(s.dataDir, "services", svc.name)); !os.IsNotExist(err) {
			t.Errorf("after %s:destroy %s its directory is still there (%v)", svc.kind, svc.name, err)
		}
		if testutil.ProcessAlive(t, pid) {
			t.Errorf("after %s:destroy %s its server (pid %d) still runs", svc.kind, svc.name, pid)
		}
		if out, err := s.ssh(s.key, svc.kind+":info", svc.name); err == nil {
			t.Errorf("%s:info of a destroyed service succeeded:\n%s", svc.kind, out)
		}
	}
	if out := s.mustSSH("postgres:list"); !strings.Contains(out, "no postgres services") {
		t.Errorf("postgres:list after the destroy:\n%s", out)
	}
	t.Logf("the test took %s", time.Since(began).Round(time.Millisecond))
}
