package e2e

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newClient returns an HTTP client that keeps cookies, like a browser.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// release fetches / of app with client and returns the version it names.
func (s *server) release(client *http.Client, app string) string {
	s.t.Helper()
	v, err := s.fetchRelease(client, app)
	if err != nil {
		s.t.Fatalf("%v\nslipway log:\n%s", err, s.logText())
	}
	return v
}

// fetchRelease is release for any goroutine: it returns what went wrong.
func (s *server) fetchRelease(client *http.Client, app string) (string, error) {
	code, body, err := s.fetch(client, app+"."+testDomain, "/")
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`hello from (v\d+)`).FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		return "", fmt.Errorf("GET %s.%s/ = %d %q", app, testDomain, code, body)
	}
	return m[1], nil
}

// keepAlive uses client on app every 300ms until the returned stop is
// called, which returns the versions it got: a session pinned to a
// release stays busy while a push takes longer than its TTL (a loaded
// machine), as a user's would.
func (s *server) keepAlive(client *http.Client, app string) (stop func() []string) {
	done, got := make(chan struct{}), make(chan []string)
	go func() {
		var seen []string
		for {
			select {
			case <-done:
				got <- seen
				return
			case <-time.After(300 * time.Millisecond):
			}
			v, err := s.fetchRelease(client, app)
			if err != nil {
				v = err.Error()
			}
			seen = append(seen, v)
		}
	}()
	return func() []string {
		close(done)
		return <-got
	}
}

// psReleases returns the releases `ssh ps` lists, with their (live) or
// (draining) mark, e.g. ["v2 (live)", "v1 (draining)"].
func (s *server) psReleases(app string) []string {
	s.t.Helper()
	out, err := s.ssh(s.key, "ps", app)
	if err != nil {
		s.t.Fatalf("ssh ps %s: %v\n%s", app, err, out)
	}
	seen := map[string]bool{}
	var rels []string
	for _, m := range regexp.MustCompile(`(v\d+ \((?:live|draining)\))`).FindAllString(out, -1) {
		if !seen[m] {
			seen[m] = true
			rels = append(rels, m)
		}
	}
	return rels
}

// Sessions pinned to v1 stay on v1 after v2 goes live, new sessions get
// v2, and v1 is retired once its sessions are idle for the session TTL.
func TestAffinity_OldSessionsStayUntilIdle(t *testing.T) {
	s := startServer(t, "--session-ttl", "3s")
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("sticky"))
	s.mustGit(dir, "push", "deploy", "main")

	old := newClient(t)
	if got := s.release(old, "sticky"); got != "v1" {
		t.Fatalf("first client got %s, want v1", got)
	}
	s.commit(dir, "v2", staticApp("v2"))
	stop := s.keepAlive(old, "sticky")
	s.mustGit(dir, "push", "deploy", "main")
	for _, v := range stop() {
		if v != "v1" {
			t.Fatalf("the pinned client got %s during the push, want v1", v)
		}
	}

	fresh := newClient(t)
	for i := 0; i < 5; i++ {
		if got := s.release(old, "sticky"); got != "v1" {
			t.Fatalf("pinned client got %s after the switch, want v1", got)
		}
		if got := s.release(fresh, "sticky"); got != "v2" {
			t.Fatalf("new client got %s, want v2", got)
		}
	}
	if got, want := strings.Join(s.psReleases("sticky"), ", "), "v2 (live), v1 (draining)"; got != want {
		t.Errorf("ps releases = %q, want %q", got, want)
	}
	// The v1 session goes idle: after the TTL, v1's processes are gone.
	waitFor(t, "v1 to retire", func() bool {
		return strings.Contains(s.logText(), `msg="release retired" component=releaser app=sticky release=v1`)
	})
	if got, want := strings.Join(s.psReleases("sticky"), ", "), "v2 (live)"; got != want {
		t.Errorf("ps releases after the TTL = %q, want %q", got, want)
	}
	if got := s.release(old, "sticky"); got != "v2" {
		t.Errorf("client of the retired release got %s, want v2", got)
	}
}

// Three quick pushes, each with a client pinned to it, leave one live pool
// and the others draining, each serving its own clients.
func TestAffinity_QuickPushesLeaveOneLiveAndTheRestDraining(t *testing.T) {
	s := startServer(t, "--session-ttl", "30s")
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("quick"))
	clients := map[string]*http.Client{}
	for _, v := range []string{"v1", "v2", "v3"} {
		s.commit(dir, v, staticApp(v))
		s.mustGit(dir, "push", "deploy", "main")
		c := newClient(t)
		if got := s.release(c, "quick"); got != v {
			t.Fatalf("client after push %s got %s", v, got)
		}
		clients[v] = c
	}
	for v, c := range clients {
		if got := s.release(c, "quick"); got != v {
			t.Errorf("client pinned to %s got %s", v, got)
		}
	}
	if got, want := strings.Join(s.psReleases("quick"), ", "), "v3 (live), v2 (draining), v1 (draining)"; got != want {
		t.Errorf("ps releases = %q, want %q", got, want)
	}
}

// ps:scale changes the live pool without a new release; app.json's
// formation sets the starting count.
func TestScale_ChangesLivePoolWithoutRelease(t *testing.T) {
	s := startServer(t)
	app := staticApp("v1")
	app["app.json"] = `{"formation":{"web":{"quantity":2}}}`
	dir := s.newApp(app)
	s.mustGit(dir, "push", s.remote("scaled"), "main")
	countWeb := func() int {
		out, err := s.ssh(s.key, "ps", "scaled")
		if err != nil {
			t.Fatalf("ps: %v\n%s", err, out)
		}
		return strings.Count(out, "web.")
	}
	if got := countWeb(); got != 2 {
		t.Fatalf("ps shows %d web instances, want 2 from app.json", got)
	}
	out, err := s.ssh(s.key, "ps:scale", "scaled", "web=3")
	if err != nil || !strings.Contains(out, "web=3") {
		t.Fatalf("ps:scale web=3: %v\n%s", err, out)
	}
	if got := countWeb(); got != 3 {
		t.Errorf("after scaling up ps shows %d, want 3", got)
	}
	out, err = s.ssh(s.key, "ps:scale", "scaled", "web=1")
	if err != nil {
		t.Fatalf("ps:scale web=1: %v\n%s", err, out)
	}
	waitFor(t, "scaled-down instances to stop", func() bool { return countWeb() == 1 })
	before, _ := s.ssh(s.key, "ps", "scaled")
	if out, err := s.ssh(s.key, "ps:restart", "scaled"); err != nil || !strings.Contains(out, "Restarted scaled") {
		t.Fatalf("ps:restart: %v\n%s", err, out)
	}
	after, _ := s.ssh(s.key, "ps", "scaled")
	pid := regexp.MustCompile(`web\.1\s+v1 \(live\)\s+up\s+(\d+)`)
	if b, a := pid.FindStringSubmatch(before), pid.FindStringSubmatch(after); b == nil || a == nil || b[1] == a[1] {
		t.Errorf("ps:restart did not replace web.1's process:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	s.wantServes("scaled", "/", "hello from v1")
	for _, bad := range [][]string{{"ps:scale", "scaled", "web=1000"}, {"ps:scale", "scaled", "web"}, {"ps:scale", "nosuch", "web=2"}, {"ps", "Bad"}} {
		if out, err := s.ssh(s.key, bad...); err == nil {
			t.Errorf("ssh %v succeeded:\n%s", bad, out)
		} else if strings.Contains(out, "internal error") {
			t.Errorf("ssh %v: %s", bad, out)
		}
	}
}
