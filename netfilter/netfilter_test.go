package netfilter

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// dialAs connects to port on addr as uid, from bash, and reports whether
// the connection was made.
func dialAs(t *testing.T, uid int, addr string, port int) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", `exec 3<>/dev/tcp/$0/$1`, addr, strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	cmd.Dir = "/"
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("dialing %s:%d as %d timed out", addr, port, uid)
	}
	return err == nil
}

func listen(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", ":0") // IPv4 and IPv6
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// The apps' uids cannot connect to the door's ports on any local address;
// other ports, and other users, can; Open leaves nothing behind.
func TestDoor_KeepsTheAppsUIDsOffThePorts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (iptables)")
	}
	if _, err := exec.LookPath(find("iptables")); err != nil {
		testutil.Missing(t, "no iptables: apt-get install iptables")
	}
	const app = 1_999_000_123 // no user has it; the rule is by number
	_, shut := listen(t)
	_, open := listen(t)
	d := Door{Chain: ChainFor(t.TempDir()), First: app - 5, Last: app + 5, Ports: []int{shut}}
	ctx := context.Background()
	t.Cleanup(func() { d.Open(ctx) })
	if !dialAs(t, app, "127.0.0.1", shut) {
		t.Fatal("before the rule, the app could not connect at all: the test proves nothing")
	}
	if _, err := d.Shut(ctx); err != nil {
		t.Fatal(err)
	}
	ipv6, err := d.Shut(ctx) // again, as a restart does
	if err != nil {
		t.Fatalf("a second Shut: %v", err)
	}
	addrs := []string{"127.0.0.1", "127.0.77.3"}
	if ipv6 == nil && dialAs(t, 0, "::1", shut) {
		addrs = append(addrs, "::1")
	}
	for _, addr := range addrs {
		if dialAs(t, app, addr, shut) {
			t.Errorf("an app's uid connected to %s:%d", addr, shut)
		}
	}
	if !dialAs(t, app, "127.0.0.1", open) {
		t.Error("an app's uid could not connect to a port the rule does not name")
	}
	if !dialAs(t, app+6, "127.0.0.1", shut) {
		t.Error("a uid outside the range could not connect")
	}
	if !dialAs(t, 0, "127.0.0.1", shut) {
		t.Error("root could not connect")
	}
	if out, err := exec.Command(find("iptables"), "-w", "5", "-S", d.Chain).CombinedOutput(); err != nil || countLines(out) != 2 {
		t.Errorf("after two Shuts the chain holds, want -N and one rule:\n%s", out)
	}
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if exec.Command(find("iptables"), "-w", "5", "-L", d.Chain, "-n").Run() == nil {
		t.Error("Open left the chain")
	}
	if !dialAs(t, app, "127.0.0.1", shut) {
		t.Error("after Open the app still could not connect")
	}
}

func countLines(b []byte) (n int) {
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
