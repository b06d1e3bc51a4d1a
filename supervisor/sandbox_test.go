package supervisor

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freePort returns a TCP port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestSandbox_ConfinesFilesPortsAndSignals runs, inside a sandbox, the
// moves a hostile app makes and checks each one's outcome.
func TestSandbox_ConfinesFilesPortsAndSignals(t *testing.T) {
	if v := LandlockABI(); v < 6 {
		t.Skipf("the kernel's Landlock ABI is %d; the sandbox needs 6 for signal scoping", v)
	}
	secretDir, release, home := t.TempDir(), t.TempDir(), t.TempDir()
	secret := filepath.Join(secretDir, "admin_token")
	os.WriteFile(secret, []byte("s3cret"), 0o600)
	os.WriteFile(filepath.Join(release, "index.html"), []byte("hi"), 0o644)
	own, other := freePort(t), freePort(t)
	try := func(what, cmd string) string {
		return fmt.Sprintf("if %s >/dev/null 2>&1; then echo '%s: yes'; else echo '%s: no'; fi\n", cmd, what, what)
	}
	bind := func(port int) string {
		return fmt.Sprintf(`python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", %d))'`, port)
	}
	script := try("read a secret", "cat "+secret) +
		try("hard link a secret", "ln "+secret+" "+home+"/stolen") +
		try("read the release", "cat "+release+"/index.html") +
		try("write the release", "touch "+release+"/pwned") +
		try("write TMPDIR", `touch "$TMPDIR/x"`) +
		try("write HOME", "touch "+home+"/x") +
		try("list /tmp", "ls /tmp") +
		try("signal slipway", fmt.Sprintf("kill -0 %d", os.Getpid())) +
		try("bind its port", bind(own)) +
		try("bind another port", bind(other))
	s := spec(t, script)
	s.Dir = release
	s.Sandbox = &Sandbox{Read: []string{release}, Write: []string{home}, Ports: []int{own}}
	p, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(20 * time.Second):
		t.Fatal("the sandboxed script did not finish")
	}
	p.Stop(time.Second)
	out := strings.Join(p.LogTail(20), "\n")
	for _, want := range []string{
		"read a secret: no", "hard link a secret: no", "read the release: yes", "write the release: no",
		"write TMPDIR: yes", "write HOME: yes", "list /tmp: no", "signal slipway: no",
		"bind its port: yes", "bind another port: no",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q; the sandbox reported:\n%s", want, out)
		}
	}
}

func TestReadablePath_KeepsSystemDirs(t *testing.T) {
	got := ReadablePath("/usr/local/go/bin:/root/.pyenv/shims:/home/me/bin:/usr/bin:/bin:/opt/node/bin")
	if want := "/usr/local/go/bin:/usr/bin:/bin:/opt/node/bin"; got != want {
		t.Errorf("ReadablePath = %q, want %q", got, want)
	}
}
