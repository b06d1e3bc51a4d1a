package e2e

import (
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// accessLineRE is an access line of app shop's log as `logs -p router`
// prints it: the time, "router:", the fields; the path and the fields
// after pinned are the groups.
var accessLineRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z router: method=GET path=(\S+|"(?:[^"\\]|\\.)*") host=shop\.` +
	regexp.QuoteMeta(testDomain) + ` status=200 bytes=\d+ service=\d+ms (release=v\d+ instance=web\.1 pinned=(?:yes|no))$`)

// The router writes a line for each request to the app's log, in
// Heroku's shape, that `logs NAME -p router` shows: the release and
// instance that answered, pinned=yes for a client its cookie kept on a
// draining release. logs:access turns them off and on again, and a
// client's path cannot forge a line or a field.
func TestLogs_AccessLinesFromTheRouter(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("shop"))
	s.mustGit(dir, "push", "deploy", "main")
	browser := newClient(t)
	if v := s.release(browser, "shop"); v != "v1" { // the cookie pins it to v1
		t.Fatalf("served %s, want v1", v)
	}
	s.commit(dir, "v2", staticApp("v2"))
	s.mustGit(dir, "push", "deploy", "main")
	s.wantServes("shop", "/?fresh", "hello from v2") // no cookie: the live release
	if v := s.release(browser, "shop"); v != "v1" {
		t.Fatalf("the pinned client got %s, want v1 (draining)", v)
	}

	// path → "release=… instance=… pinned=…" of each line with that path.
	lines := func(out string) map[string][]string {
		got := map[string][]string{}
		for l := range strings.Lines(out) {
			l = strings.TrimSuffix(l, "\n")
			m := accessLineRE.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("logs -p router shows a line of another shape:\n%q\nall of them:\n%s", l, out)
			}
			got[m[1]] = append(got[m[1]], m[2])
		}
		return got
	}
	var seen map[string][]string
	waitFor(t, "the access lines in logs -p router", func() bool {
		out, err := s.ssh(s.key, "logs", "shop", "-p", "router", "-n", "100")
		if err != nil {
			return false
		}
		seen = lines(out)
		return len(seen["/"]) == 2
	})
	want := map[string][]string{
		"/":       {"release=v1 instance=web.1 pinned=no", "release=v1 instance=web.1 pinned=yes"},
		"/?fresh": {"release=v2 instance=web.1 pinned=no"},
	}
	for path, w := range want {
		if strings.Join(seen[path], "|") != strings.Join(w, "|") {
			t.Errorf("path=%s: lines %q, want %q", path, seen[path], w)
		}
	}
	if out, _ := s.ssh(s.key, "logs", "shop", "-p", "web", "-n", "100"); strings.Contains(out, "router:") {
		t.Errorf("logs -p web shows the router's lines:\n%s", out)
	}

	// Off, then on again: the request made while off has no line.
	if out := s.mustSSH("logs:access", "shop", "off"); !strings.Contains(out, "logs:access shop on") {
		t.Errorf("logs:access off says %q", out)
	}
	s.wantServes("shop", "/?while-off", "hello from v2")
	s.mustSSH("logs:access", "shop", "on")
	s.wantServes("shop", "/?after-on", "hello from v2")
	waitFor(t, "the line of the request after logs:access on", func() bool {
		out, _ := s.ssh(s.key, "logs", "shop", "-p", "router", "-n", "100")
		seen = lines(out)
		return len(seen["/?after-on"]) == 1
	})
	if len(seen["/?while-off"]) > 0 {
		t.Errorf("a request made while logs:access was off has a line: %q", seen["/?while-off"])
	}

	// A path laden with CRLFs, quotes and backslashes makes one line,
	// its path quoted and escaped; no forged line or field.
	evil := `/?evil%0D%0A2026-01-01T00:00:00.000Z%20router:%20method=GET&q="x\"%0Astatus=500\\`
	raw(t, s.httpAddr, "GET "+evil+" HTTP/1.1\r\nHost: shop."+testDomain+"\r\nConnection: close\r\n\r\n")
	var out string
	waitFor(t, "the hostile request's line", func() bool {
		out, _ = s.ssh(s.key, "logs", "shop", "-p", "router", "-n", "100")
		return strings.Contains(out, "evil")
	})
	var evilLines []string
	for l := range strings.Lines(out) {
		if strings.Contains(l, "evil") || strings.Contains(l, "2026-01-01") {
			evilLines = append(evilLines, l)
		}
	}
	if len(evilLines) != 1 {
		t.Fatalf("the hostile request made %d lines, want 1:\n%s", len(evilLines), out)
	}
	m := accessLineRE.FindStringSubmatch(strings.TrimSuffix(evilLines[0], "\n"))
	if m == nil || !strings.HasPrefix(m[1], `"/?evil%0D%0A2026-01-01T00:00:00.000Z%20router:%20method=GET&q=\"x\\\"%0Astatus=500\\\\"`) || m[2] != "release=v2 instance=web.1 pinned=no" {
		t.Errorf("the hostile request's line is not one clean line with its path quoted:\n%s", evilLines[0])
	}
}

// raw sends request, as it is, to addr and reads the response to its
// end (the request asks to close), within 10 s.
func raw(t *testing.T, addr, request string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	answer, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(answer), "HTTP/1.1 200 ") {
		t.Fatalf("%q answered %.80q, want 200", request, answer)
	}
}
