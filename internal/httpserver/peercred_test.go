package httpserver

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// Only a peer running as one of the uids is handed on; another is closed
// at once, whatever the socket file's mode lets in.
func TestPeerUIDs_LetsInOnlyTheGivenUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to connect as another user")
	}
	python := testutil.NeedTool(t, "/usr/bin/python3", "python3")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	path := filepath.Join(dir, "admin.sock")
	inner, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777) // the mode would let anyone in
	ln := PeerUIDs(inner, 0)
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			c.Write([]byte("hello\n"))
			accepted <- c
		}
	}()
	// As another user: the connection is made (the mode allows it) and
	// closed before anything is said.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	py := `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
sys.stdout.write(repr(s.recv(16)))`
	cmd := exec.CommandContext(ctx, python, "-c", py, path)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 12345, Gid: 12345}}
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "b''" {
		t.Errorf("another user's connection got %s (%v), want it closed with nothing said", out, err)
	}
	// As root: handed on.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello\n" {
		t.Errorf("root's connection: %q, %v", buf[:n], err)
	}
	(<-accepted).Close() // root's
	if n := len(accepted); n != 0 {
		t.Errorf("%d more connections handed on, want root's alone", n)
	}
}
