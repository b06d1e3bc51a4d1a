package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// dialFrom opens n TCP connections to addr from the loopback address src
// (127.0.0.2, say: another client than the tests' 127.0.0.1) and returns
// them; the test's cleanup closes them.
func dialFrom(t *testing.T, src, addr string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	var conns []net.Conn
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			break // the kernel's queue is full: as refused as it gets
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// stillOpen returns how many of conns the server has not closed: a read
// that waits (rather than ending at once) means open.
func stillOpen(conns []net.Conn) int {
	open := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		buf := make([]byte, 512)
		for {
			_, err := c.Read(buf)
			if err == nil {
				continue // the ssh banner, say
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				open++
			}
			break
		}
	}
	return open
}

// A flood of unauthenticated ssh connections from one address is capped
// there and closed after the login grace; another client still runs
// commands meanwhile.
func TestLimits_SSHFloodIsCappedAndTimedOut(t *testing.T) {
	s := startServer(t, "--ssh-login-grace", "2s", "--ssh-max-per-address", "5")
	flood := dialFrom(t, "127.0.0.2", s.sshAddr, 30)
	waitFor(t, "the connections beyond the cap to be closed", func() bool { return stillOpen(flood) <= 5 })
	if out, err := s.ssh(s.key, "apps:list"); err != nil {
		t.Fatalf("a legitimate ssh client during the flood: %v\n%s", err, out)
	}
	waitFor(t, "the login grace to close the rest", func() bool { return stillOpen(flood) == 0 })
}

// With a low file limit, a client holding more idle connections than its
// cap to the router gets only its cap; other clients, the admin page and
// ssh keep being answered, and a push still deploys.
func TestLimits_RouterFloodLeavesTheRestAnswered(t *testing.T) {
	prlimit := testutil.NeedTool(t, "prlimit", "util-linux")
	s := newServer(t, os.Geteuid())
	s.prepare = func(cmd *exec.Cmd) {
		cmd.Args = append([]string{"prlimit", "--nofile=512:512", "--", cmd.Path}, cmd.Args[1:]...)
		cmd.Path = prlimit
	}
	s.start("--max-conns-per-address", "40", "--max-conns", "100")
	if !strings.Contains(s.logText(), "file_limit=512") {
		t.Fatalf("slipway did not run with the low file limit:\n%s", s.logText())
	}
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("busy"), "main")

	// More connections in all than slipway has descriptors: without the
	// caps it would run out of them.
	one := dialFrom(t, "127.0.0.2", s.httpAddr, 300)
	waitFor(t, "one address to be held at its cap", func() bool { return stillOpen(one) <= 40 })
	if n := stillOpen(one); n < 30 {
		t.Errorf("only %d of one client's connections are open, want its cap of 40", n)
	}
	s.wantServes("busy", "/", "hello from v1")

	// Several addresses together reach the total cap: new connections are
	// refused cleanly, and slipway's other listeners and work go on.
	for _, src := range []string{"127.0.0.3", "127.0.0.4"} {
		dialFrom(t, src, s.httpAddr, 150)
	}
	resp, err := http.Get("http://" + s.adminAddr + "/healthz")
	if err != nil {
		t.Fatalf("the admin page during the flood: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("/healthz = %q", body)
	}
	if out, err := s.ssh(s.key, "ps", "busy"); err != nil {
		t.Errorf("ssh during the flood: %v\n%s", err, out)
	}
	s.commit(dir, "v2", staticApp("v2"))
	if out := s.mustGit(dir, "push", s.remote("busy"), "main"); !strings.Contains(out, "v2 is live") {
		t.Errorf("a push during the flood:\n%s", out)
	}
}

// A request body that stops arriving ends with 408 after --body-timeout.
func TestLimits_StalledBodyGets408(t *testing.T) {
	s := startServer(t, "--body-timeout", "1s")
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("slow"), "main")
	c, err := net.Dial("tcp", s.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: slow.%s\r\nContent-Length: 10\r\n\r\nx", testDomain)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	answer, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(answer), "HTTP/1.1 408") {
		t.Errorf("a stalled body got %q, want 408 and the connection closed", answer)
	}
}

// Guessing the admin token: after five wrong ones an address is locked
// out (429 with Retry-After), even with the right token; a configured
// token shorter than 32 characters is refused at start.
func TestLimits_AdminTokenGuessingIsThrottled(t *testing.T) {
	s := startServer(t)
	token, err := os.ReadFile(s.dataDir + "/admin_token")
	if err != nil {
		t.Fatal(err)
	}
	get := func(tok string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.adminAddr+"/api/apps", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 6 {
		if resp := get(fmt.Sprintf("guess-%d", i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d", i, resp.StatusCode)
		}
	}
	if resp := get(strings.TrimSpace(string(token))); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the right token during the lockout: %d, Retry-After %q; want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(s.logText(), `msg="admin sign-in refused: wrong token" remote=127.0.0.1`) {
		t.Errorf("the refusals are not logged with the address")
	}

	cmd := exec.Command(slipwayBin, "serve", "--data", t.TempDir(), "--admin-token", "short",
		"--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--admin-token is 5 characters: give at least 32") {
		t.Errorf("slipway serve --admin-token short: %v\n%s", err, out)
	}
}

// The classic smuggling cases through the real router: the request hidden
// in a body never reaches the app, and the connection is closed.
func TestLimits_SmuggledRequestsNeverReachTheApp(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("victim"), "main")
	host := "victim." + testDomain
	hidden := "GET /smuggled HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	for name, raw := range map[string]string{
		"CL.TE":        "POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
		"TE.CL":        "POST / HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n" + hidden + "\r\n0\r\n\r\n",
		"TE.TE":        "POST / HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: cow\r\n\r\n0\r\n\r\n" + hidden,
		"duplicate CL": "POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n" + hidden,
	} {
		c, err := net.Dial("tcp", s.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, raw)
		answer, err := io.ReadAll(c) // ends only when slipway closes the connection
		c.Close()
		if err != nil {
			t.Errorf("%s: the connection stayed open: %v", name, err)
		}
		if !strings.HasPrefix(string(answer), "HTTP/1.1 4") && !strings.HasPrefix(string(answer), "HTTP/1.1 5") {
			t.Errorf("%s: answered %.60q, want a refusal", name, answer)
		}
	}
	s.wantServes("victim", "/", "hello from v1")
	if logs, _ := s.ssh(s.key, "logs", "victim", "-n", "1000"); strings.Contains(logs, "/smuggled") {
		t.Errorf("a smuggled request reached the app:\n%s", logs)
	}
}

// A flood of the admin page from one address leaves the router, ssh and
// the admin page for another client answered.
func TestLimits_AdminFloodLeavesTheRestAnswered(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("calm"), "main")
	flood := dialFrom(t, "127.0.0.2", s.adminAddr, 100)
	waitFor(t, "the admin page to hold one address at its cap", func() bool { return stillOpen(flood) <= 16 })
	resp, err := http.Get("http://" + s.adminAddr + "/healthz")
	if err != nil {
		t.Fatalf("the admin page for another client: %v", err)
	}
	resp.Body.Close()
	s.wantServes("calm", "/", "hello from v1")
	if out, err := s.ssh(s.key, "ps", "calm"); err != nil {
		t.Errorf("ssh during the admin flood: %v\n%s", err, out)
	}
}
