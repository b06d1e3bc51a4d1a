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
	s := newServer(t, os.Geteuid())
	s.prepare = func(cmd *exec.Cmd) {
		cmd.Args = append([]string{"prlimit", "--nofile=512:512", "--", cmd.Path}, cmd.Args[1:]...)
		cmd.Path, _ = exec.LookPath("prlimit")
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
