package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// freePort returns a loopback TCP port that was free a moment ago.
var freePort = testutil.FreePort

// runToEnd runs s and returns the last lines of its output once it has
// exited.
func runToEnd(t *testing.T, s Spec) string {
	t.Helper()
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
	return strings.Join(p.LogTail(20), "\n")
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
	out := runToEnd(t, s)
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

// A sandboxed process has a /dev/shm of its own, bounded, that neither the
// host nor another process sees (POSIX semaphores work in it); and the
// environment it is given reaches the program, not the launcher's own
// dynamic loader.
func TestSandbox_OwnShmAndTheEnvironmentPastTheLauncher(t *testing.T) {
	if !PrivateShm() {
		t.Skip("this host forbids user namespaces: /dev/shm is out of reach instead")
	}
	home := t.TempDir()
	token := fmt.Sprintf("slipway-test-%d", time.Now().UnixNano())
	script := fmt.Sprintf(`echo hi > /dev/shm/%[1]s && echo "write shm: yes"
ls /dev/shm | grep -q . && echo "own shm holds: $(ls /dev/shm)"
if dd if=/dev/zero of=/dev/shm/big bs=1M count=100 2>/dev/null; then echo "fill shm: yes"; else echo "fill shm: no"; fi
rm -f /dev/shm/big
python3 -c 'import multiprocessing; multiprocessing.Lock(); print("semaphore: yes")'
echo "env: $GREETING"
`, token)
	s := spec(t, script)
	s.Env = append(s.Env, "GREETING=hello", "LD_DEBUG=files", "LD_DEBUG_OUTPUT="+filepath.Join(home, "ld"))
	s.Sandbox = &Sandbox{Write: []string{home}}
	out := runToEnd(t, s)
	for _, want := range []string{"write shm: yes", "own shm holds: " + token, "fill shm: no", "semaphore: yes", "env: hello"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q; the sandbox reported:\n%s", want, out)
		}
	}
	if _, err := os.Stat("/dev/shm/" + token); err == nil {
		os.Remove("/dev/shm/" + token)
		t.Error("the process's /dev/shm file is in the host's /dev/shm")
	}
	exe, _ := os.Executable()
	logs, _ := filepath.Glob(filepath.Join(home, "ld.*"))
	if len(logs) == 0 {
		t.Fatal("LD_DEBUG never reached the program: the test proves nothing")
	}
	for _, l := range logs {
		if b, _ := os.ReadFile(l); strings.Contains(string(b), filepath.Base(exe)) {
			t.Errorf("the launcher's dynamic loader saw the program's LD_ variables (%s)", l)
		}
	}
}

// BenchmarkSandboxStart is what a process's own /dev/shm costs at start:
// a sandboxed `true` from Start to its exit, with the user and mount
// namespace and the tmpfs (shm) and without (noshm), side by side.
//
//	go test -run '^$' -bench SandboxStart -count 5 ./supervisor
func BenchmarkSandboxStart(b *testing.B) {
	if !PrivateShm() {
		b.Skip("this host forbids user namespaces")
	}
	for _, shm := range []bool{true, false} {
		name := "noshm"
		if shm {
			name = "shm"
		}
		b.Run(name, func(b *testing.B) {
			shmOK = shm
			defer func() { shmOK = true }()
			dir := b.TempDir()
			for i := 0; b.Loop(); i++ {
				s := Spec{ID: "web.1", Command: "true", Dir: dir, Env: AppEnv(dir, nil),
					TmpDir: filepath.Join(dir, "tmp", fmt.Sprint(i)), LogPath: filepath.Join(dir, "logs", "web.1.log"),
					Release: "v1", Sandbox: &Sandbox{}}
				p, err := Start(s)
				if err != nil {
					b.Fatal(err)
				}
				<-p.Exited()
				p.Stop(time.Second)
			}
		})
	}
}
