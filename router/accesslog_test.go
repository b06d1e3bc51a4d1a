package router

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// accessLine is one line an AccessLog wrote, with its app.
type accessLine struct{ app, text string }

// accessFront is front with an AccessLog, started, whose lines arrive on
// the returned channel.
func accessFront(t *testing.T) (*Router, *httptest.Server, <-chan accessLine) {
	t.Helper()
	r, lines := accessRouter(t)
	return r, serveRouter(t, r), lines
}

// accessRouter is accessFront with no server.
func accessRouter(t *testing.T) (*Router, <-chan accessLine) {
	t.Helper()
	lines := make(chan accessLine, 100)
	al := NewAccessLog(AccessLogConfig{Write: func(app string, ls [][]byte) {
		for _, line := range ls {
			lines <- accessLine{app, string(line)}
		}
	}})
	al.Start()
	t.Cleanup(func() { al.Shutdown(context.Background()) })
	r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey, AccessLog: al})
	t.Cleanup(r.Close)
	return r, lines
}

// lineRE is an access line's shape; its groups are the fields.
var lineRE = regexp.MustCompile(`^method=(\S+) path=(\S+|"(?:[^"\\]|\\.)*") host=(\S+|"(?:[^"\\]|\\.)*") status=(\d+) bytes=(\d+) service=(\d+)ms release=(\S+) instance=(\S+) pinned=(yes|no)( error=[a-z_]+)?$`)

// fields parses an access line into its fields by name, failing the test
// if it has not the shape.
func fields(t *testing.T, l accessLine) map[string]string {
	t.Helper()
	m := lineRE.FindStringSubmatch(l.text)
	if m == nil {
		t.Fatalf("access line of %s has not the shape: %q", l.app, l.text)
	}
	return map[string]string{"method": m[1], "path": m[2], "host": m[3], "status": m[4], "bytes": m[5],
		"service": m[6], "release": m[7], "instance": m[8], "pinned": m[9], "error": strings.TrimPrefix(m[10], " error=")}
}

// wantFields fails the test unless line has want's fields.
func wantFields(t *testing.T, l accessLine, app string, want map[string]string) {
	t.Helper()
	if l.app != app {
		t.Errorf("line written to %s's log, want %s's: %q", l.app, app, l.text)
	}
	got := fields(t, l)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%s, want %s, in %q", k, got[k], v, l.text)
		}
	}
}

func TestRouter_AccessLinePerProxiedRequest(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, lines := accessFront(t)
		r.SetLive(pool(t, "web", "v1", 2))
		c := browser(t, srv)
		first := visit(t, c, "web.apps.test", "/hello?x=1")
		l := recv(t, lines, "the first request's line")
		inst := strings.TrimPrefix(first.body, "v1/")
		wantFields(t, l, "web", map[string]string{"method": "GET", "path": `"/hello?x=1"`, "host": "web.apps.test",
			"status": "200", "bytes": strconv.Itoa(len(first.body)), "release": "v1", "instance": inst, "pinned": "no", "error": ""})

		// The cookie the first response set pins the second request.
		second := visit(t, c, "web.apps.test", "/again")
		if second.body != first.body {
			t.Fatalf("the cookie did not pin: %q then %q", first.body, second.body)
		}
		wantFields(t, recv(t, lines, "the pinned request's line"), "web", map[string]string{
			"path": "/again", "instance": inst, "pinned": "yes"})
	})
}

// bytes= is what the client got of the body, framed by Content-Length or
// chunked; a HEAD gets none.
func TestRouter_AccessLineCountsBodyBytes(t *testing.T) {
	body := strings.Repeat("x", 40000)
	eachServer(t, func(t *testing.T) {
		r, srv, lines := accessFront(t)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/chunked" {
				for range 4 {
					io.WriteString(w, body[:10000])
					w.(http.Flusher).Flush()
				}
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			io.WriteString(w, body)
		}))
		r.SetLive(&Pool{App: "web", Release: "v3", Instances: []*Instance{instance("web.1", app)}})
		c := client(t)
		for _, tc := range []struct{ method, path, bytes string }{
			{http.MethodGet, "/length", "40000"},
			{http.MethodGet, "/chunked", "40000"},
			{http.MethodHead, "/length", "0"},
		} {
			res := do(t, c, srv, tc.method, "web.apps.test", tc.path, nil)
			if res.code != http.StatusOK {
				t.Fatalf("%s %s: status %d", tc.method, tc.path, res.code)
			}
			wantFields(t, recv(t, lines, "the line"), "web", map[string]string{
				"method": tc.method, "path": tc.path, "status": "200", "bytes": tc.bytes, "release": "v3", "instance": "web.1"})
		}
	})
}

// A request no instance answered gets a line that says so, with the
// instance that failed; so do the router's own pages of an app, with no
// instance; a host that names no app gets none.
func TestRouter_AccessLinesOfTheRoutersOwnAnswers(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, lines := accessFront(t)
		c := client(t)
		r.SetLive(&Pool{App: "dead", Release: "v2", Instances: []*Instance{{ID: "web.1", Addr: deadAddr(t)}}})
		res := get(t, c, srv, "dead.apps.test", "/")
		wantFields(t, recv(t, lines, "the 502's line"), "dead", map[string]string{
			"status": "502", "bytes": strconv.Itoa(len(res.body)), "release": "v2", "instance": "web.1", "error": "bad_gateway"})

		if res := do(t, c, srv, http.MethodHead, "dead.apps.test", "/", nil); res.code != http.StatusBadGateway {
			t.Fatalf("HEAD to a dead instance: %d", res.code)
		}
		wantFields(t, recv(t, lines, "the HEAD 502's line"), "dead", map[string]string{"status": "502", "bytes": "0", "error": "bad_gateway"})

		get(t, c, srv, "nosuch.apps.test", "/") // no app, no log
		r.SetMaintenance("busy", true, []byte("<p>back soon</p>"))
		get(t, c, srv, "busy.apps.test", "/")
		wantFields(t, recv(t, lines, "the maintenance line"), "busy", map[string]string{
			"status": "503", "bytes": "16", "release": "-", "instance": "-", "error": "maintenance"})
		r.SetStopped("idle", true)
		get(t, c, srv, "idle.apps.test", "/")
		wantFields(t, recv(t, lines, "the stopped line"), "idle", map[string]string{"status": "503", "error": "stopped"})
		r.SetUndeployed("new", true)
		get(t, c, srv, "new.apps.test", "/")
		wantFields(t, recv(t, lines, "the undeployed line"), "new", map[string]string{"status": "404", "error": "undeployed"})
		sick := &Instance{ID: "web.1", Addr: deadAddr(t)}
		sick.SetHealthy(false)
		r.SetLive(&Pool{App: "sick", Release: "v1", Instances: []*Instance{sick}})
		get(t, c, srv, "sick.apps.test", "/")
		wantFields(t, recv(t, lines, "the unavailable line"), "sick", map[string]string{"status": "503", "error": "unavailable"})
		select {
		case l := <-lines:
			t.Errorf("an extra line: %+v", l)
		default:
		}
	})
}

// A static release's files get lines too, with no instance.
func TestRouter_AccessLineOfStaticRelease(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, lines := accessFront(t)
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>static</h1>\n"), 0o644)
		r.SetLive(&Pool{App: "www", Release: "v7", StaticDir: dir})
		res := get(t, client(t), srv, "www.apps.test", "/")
		if res.code != http.StatusOK {
			t.Fatalf("status %d", res.code)
		}
		wantFields(t, recv(t, lines, "the line"), "www", map[string]string{
			"status": "200", "bytes": strconv.Itoa(len(res.body)), "release": "v7", "instance": "-", "pinned": "no"})
	})
}

// An upgrade's line is written when the tunnel closes: 101, with the
// bytes the app sent through it.
func TestRouter_AccessLineOfUpgrade(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, lines := accessFront(t)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhello\n")
		}))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: web.apps.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		io.ReadAll(conn) // until the app closes the tunnel
		wantFields(t, recv(t, lines, "the line"), "web", map[string]string{"status": "101", "bytes": "6", "instance": "web.1"})
	})
}

// logs:access NAME off: the app's requests get no line; on again, they do.
func TestRouter_AccessLinesOffPerApp(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, lines := accessFront(t)
		r.SetLive(pool(t, "quiet", "v1", 1))
		r.SetLive(pool(t, "loud", "v1", 1))
		c := client(t)
		r.SetAccessLog("quiet", false)
		get(t, c, srv, "quiet.apps.test", "/off")
		get(t, c, srv, "loud.apps.test", "/on")
		// One writer, in order: had quiet's request a line, it came first.
		wantFields(t, recv(t, lines, "loud's line"), "loud", map[string]string{"path": "/on"})
		r.SetAccessLog("QUIET", true)
		get(t, c, srv, "quiet.apps.test", "/back")
		wantFields(t, recv(t, lines, "quiet's line"), "quiet", map[string]string{"path": "/back"})
	})
}

// No line is written for an app the router no longer knows when the
// writer gets to it: a destroyed app's log is not made again.
func TestAccessLog_SkipsAppsGoneBeforeTheWrite(t *testing.T) {
	lines := make(chan accessLine, 10)
	al := NewAccessLog(AccessLogConfig{Write: func(app string, ls [][]byte) {
		for _, line := range ls {
			lines <- accessLine{app, string(line)}
		}
	}})
	r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey, AccessLog: al})
	t.Cleanup(r.Close)
	r.SetLive(pool(t, "gone", "v1", 1))
	r.SetLive(pool(t, "kept", "v1", 1))
	for _, app := range []string{"gone", "kept"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://"+app+".apps.test/", nil))
	}
	r.Remove("gone")
	al.Start() // the queued lines are written now
	if err := al.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	close(lines)
	var got []string
	for l := range lines {
		got = append(got, l.app)
	}
	if strings.Join(got, " ") != "kept" {
		t.Errorf("lines written for %q, want kept's alone", got)
	}
}

// A full queue drops lines and counts them; no request waits for the
// writer, however stuck it is.
func TestAccessLog_FullQueueDropsWithoutBlocking(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		stuck, entered := make(chan struct{}), make(chan struct{}, 1)
		al := NewAccessLog(AccessLogConfig{Queue: 2, Write: func(string, [][]byte) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-stuck
		}})
		al.Start()
		r := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey, AccessLog: al})
		t.Cleanup(r.Close)
		srv := serveRouter(t, r)
		r.SetLive(pool(t, "web", "v1", 1))
		c := client(t)
		get(t, c, srv, "web.apps.test", "/")
		recv(t, entered, "the writer to take the first line") // and stick in Write
		const more = 20
		for i := range more {
			if res := get(t, c, srv, "web.apps.test", fmt.Sprintf("/%d", i)); res.code != http.StatusOK {
				t.Fatalf("status %d", res.code)
			}
		}
		if got, want := al.Dropped(), uint64(more-2); got != want {
			t.Errorf("Dropped = %d, want %d (a queue of 2)", got, want)
		}
		close(stuck)
		if err := al.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// Shutdown writes what was queued; without Start it returns at once.
func TestAccessLog_ShutdownWritesWhatIsQueued(t *testing.T) {
	var got []string
	al := NewAccessLog(AccessLogConfig{Write: func(app string, ls [][]byte) {
		for range ls {
			got = append(got, app)
		}
	}})
	for _, app := range []string{"a", "b", "c"} {
		al.add(&accessEntry{app: app})
	}
	al.Start()
	if err := al.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "a b c" {
		t.Errorf("wrote %q, want a b c", got)
	}
	idle := NewAccessLog(AccessLogConfig{Write: func(string, [][]byte) {}})
	if err := idle.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown before Start: %v", err)
	}
}

// A client's path and Host cannot end the line or add a field, whatever
// bytes a server lets through: the router, called directly, takes them
// as they come (a page it answers itself logs the raw target).
func TestRouter_HostilePathMakesOneCleanLine(t *testing.T) {
	r, lines := accessRouter(t)
	r.SetMaintenance("web", true, []byte("12345678"))
	req := httptest.NewRequest(http.MethodGet, "http://web.apps.test/", nil)
	req.RequestURI = "/x\r\n2026-01-01T00:00:00.000Z router: method=GET path=/forged status=200\" bytes=1 \\\"\u2028\x1b[2J"
	req.Host = "web.apps.test:1\nhost=evil status=200"
	r.ServeHTTP(httptest.NewRecorder(), req)
	l := recv(t, lines, "the line")
	if strings.ContainsAny(l.text, "\r\n\x1b") || strings.Contains(l.text, "\u2028") {
		t.Fatalf("line holds a control or separator: %q", l.text)
	}
	f := fields(t, l)
	keys := strings.Join(logfmtKeys(t, l.text), " ")
	if f["status"] != "503" || f["bytes"] != "8" || keys != "method path host status bytes service release instance pinned error" {
		t.Errorf("the request forged a field (keys %s): %q", keys, l.text)
	}
	if want := `"/x\r\n2026-01-01T00:00:00.000Z router: method`; !strings.HasPrefix(f["path"], want) {
		t.Errorf("path=%s, want it quoted and escaped, from %s", f["path"], want)
	}
	if want := `"web.apps.test:1\nhost`; !strings.HasPrefix(f["host"], want) {
		t.Errorf("host=%s, want it quoted and escaped, from %s", f["host"], want)
	}
}

// logfmtKeys returns the keys of a logfmt line, as a reader splits it:
// key=value pairs apart by spaces, a value in double quotes with
// backslash escapes.
func logfmtKeys(t *testing.T, line string) []string {
	t.Helper()
	var keys []string
	for line != "" {
		key, rest, ok := strings.Cut(line, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			t.Fatalf("not logfmt at %q", line)
		}
		keys = append(keys, key)
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' {
					i++
				}
			}
			if i >= len(rest) {
				t.Fatalf("unended quote at %q", rest)
			}
			rest = rest[i+1:]
		} else if i := strings.IndexByte(rest, ' '); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
		line = strings.TrimPrefix(rest, " ")
	}
	return keys
}

func TestAppendValue_QuotesAndEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/", "/"},
		{"/a/b.css", "/a/b.css"},
		{"", `""`},
		{"/a b", `"/a b"`},
		{"/?q=1", `"/?q=1"`},
		{`/"x"`, `"/\"x\""`},
		{`/a\b`, `"/a\\b"`},
		{"/a\nb\rc\td", `"/a\nb\rc\td"`},
		{"/\x00\x1b\x7f", `"/\x00\x1b\x7f"`},
		{"/é\u2028", `"/\xc3\xa9\xe2\x80\xa8"`},
		{strings.Repeat("a", 20), strings.Repeat("a", 10) + "..."},
		{strings.Repeat(" ", 12), `"` + strings.Repeat(" ", 10) + `..."`},
	} {
		if got := string(appendValue(nil, tc.in, 10)); got != tc.want {
			t.Errorf("appendValue(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// The line the Router writes reads as the app log's readers expect.
func TestAppendAccessLine_Shape(t *testing.T) {
	e := accessEntry{app: "shop", method: "GET", path: "/", host: "shop.example.com", status: 200, bytes: 1532,
		service: 3*time.Millisecond + 400*time.Microsecond, release: "v4", instance: "web.2", pinned: true}
	if got, want := string(appendAccessLine(nil, &e)),
		"method=GET path=/ host=shop.example.com status=200 bytes=1532 service=3ms release=v4 instance=web.2 pinned=yes"; got != want {
		t.Errorf("line\n%s\nwant\n%s", got, want)
	}
	e = accessEntry{app: "shop", method: "POST", path: "/pay", host: "shop.example.com", status: 502, bytes: 120, fault: faultBadGateway}
	if got, want := string(appendAccessLine(nil, &e)),
		"method=POST path=/pay host=shop.example.com status=502 bytes=120 service=0ms release=- instance=- pinned=no error=bad_gateway"; got != want {
		t.Errorf("line\n%s\nwant\n%s", got, want)
	}
}

// Lines queued together are written together, each app's in the order
// of its requests, with one Write per app.
func TestAccessLog_WritesEachAppsQueuedLinesAtOnce(t *testing.T) {
	var got []string
	al := NewAccessLog(AccessLogConfig{Write: func(app string, ls [][]byte) {
		var paths []string
		for _, l := range ls {
			_, p, _ := strings.Cut(string(l), "path=")
			p, _, _ = strings.Cut(p, " ")
			paths = append(paths, p)
		}
		got = append(got, app+":"+strings.Join(paths, ","))
	}})
	for _, e := range []accessEntry{{app: "a", path: "/1"}, {app: "b", path: "/1"}, {app: "a", path: "/2"}, {app: "b", path: "/2"}, {app: "a", path: "/3"}} {
		al.add(&e)
	}
	al.Start()
	if err := al.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(got, " "), "a:/1,/2,/3 b:/1,/2"; got != want {
		t.Errorf("writes %q, want %q", got, want)
	}
}
