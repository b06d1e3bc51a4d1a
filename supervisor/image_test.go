package supervisor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// appUID is the identity the test containers run as: nobody, as the other
// packages' tests run their servers.
const appUID = 65534

// busyboxRootfs makes an image's root in dir from the host's static
// busybox: the applets the tests use, a page at /www/index.html, and the
// mount points runc would otherwise make.
func busyboxRootfs(t testing.TB, dir string) string {
	t.Helper()
	bb := testutil.NeedTool(t, "busybox", "busybox-static")
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "www", "proc", "dev", "sys", "tmp", "etc", "home/app"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "httpd", "nc", "id", "cat", "echo", "sleep", "touch", "ls", "grep", "dd", "test", "head", "wc"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"etc/hosts", "etc/resolv.conf"} {
		os.WriteFile(filepath.Join(root, f), nil, 0o644)
	}
	os.WriteFile(filepath.Join(root, "www", "index.html"), []byte("hello from the image\n"), 0o644)
	return root
}

// imageTest is a test's image instance: its spec and the port it may bind.
type imageTest struct {
	Spec
	port int
	home string // the HOME on the host, /home/app inside
}

// imageSpec returns the spec of an instance running args from a busybox
// image as appUID, in a cgroup with a 64M memory limit, with runc's state
// in the test's own directory. It skips where images cannot run.
func imageSpec(t testing.TB, args ...string) imageTest {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("image releases need root")
	}
	if err := CgroupsUnavailable(); err != nil {
		t.Skip("no cgroups for slipway here:", err)
	}
	testutil.NeedTool(t, "runc", "runc")
	// Not t.TempDir, whose parent only root may enter: the directory run
	// of BenchmarkImageStart reads the rootfs as the app.
	dir, err := os.MkdirTemp("", "slipway-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o700)
	os.Chown(home, appUID, appUID)
	port := freePort(t)
	s := Spec{
		ID: "web.1", Env: []string{"HOME=/home/app", "PORT=" + strconv.Itoa(port), "PATH=/nonexistent/host/bin"},
		TmpDir: filepath.Join(dir, "tmp", "v1.web.1"), LogPath: filepath.Join(dir, "logs", "web.1.log"),
		AppLog: NewAppLog(filepath.Join(dir, "logs", "app.log")), Release: "v1",
		Sandbox: &Sandbox{UID: appUID, GID: appUID, Ports: []int{port}, Cgroup: testCgroup(t), Limits: Limits{Memory: 64 << 20}},
		Image: &ImageRun{
			Rootfs: busyboxRootfs(t, dir), Args: args, WorkDir: "/www",
			Env:      []string{"PATH=/bin", "IMAGE_VAR=from-image", "PORT=1"},
			Mounts:   []ImageMount{{Source: home, Destination: "/home/app"}},
			StateDir: filepath.Join(dir, "runc"),
		},
	}
	t.Cleanup(func() { s.AppLog.Close() })
	return imageTest{Spec: s, port: port, home: home}
}

// testCgroup is a cgroup name of the test's own.
func testCgroup(t testing.TB) string {
	return fmt.Sprintf("slipway-test-%d-%s", os.Getpid(), strings.NewReplacer("/", "-", "#", "-").Replace(t.Name()))
}

// startImageTest starts s, stopped when the test ends.
func startImageTest(t testing.TB, s Spec) *Process {
	t.Helper()
	p, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Second) })
	return p
}

// get returns the body of http://127.0.0.1:port/, "" when nothing answers.
func get(port int) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// containerPID returns the host pid of the container's init, a child of
// the runc process p, or 0.
func containerPID(p *Process) int {
	for _, c := range childLister()(p.PID()) {
		if status, err := os.ReadFile("/proc/" + strconv.Itoa(c) + "/status"); err == nil && containerInit(string(status)) {
			return c
		}
	}
	return 0
}

// procCgroup returns the cgroup of pid in the v1 hierarchy named sub.
func procCgroup(t testing.TB, pid int, sub string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) == 3 && f[1] == sub {
			return f[2]
		}
	}
	t.Fatalf("pid %d has no %s cgroup: %s", pid, sub, data)
	return ""
}

// checkClean fails the test if anything of s's container is left once its
// process p was stopped: a process, runc's state, the bundle, the TMPDIR,
// a cgroup of its own or of runc's, a mount.
func checkClean(t testing.TB, s Spec, p *Process, cgroups []string) {
	t.Helper()
	if entries, _ := os.ReadDir(s.Image.StateDir); len(entries) > 0 {
		t.Errorf("runc's state dir holds %s after Stop", entries[0].Name())
	}
	for _, dir := range []string{p.tmpDir, bundleDir(p.tmpDir)} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after Stop: %v", dir, err)
		}
	}
	for _, cg := range cgroups {
		if _, err := os.Stat(cg); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s left after Stop", cg)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), s.Image.Rootfs) {
		t.Errorf("a mount of the image's root is left on the host")
	}
}

// webArgs run the image's httpd on PORT.
var webArgs = []string{"/bin/sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"}

// serving waits until p, started from webArgs, answers, and returns its
// container's init and the cgroups that must be gone once it is stopped:
// the process's (memory) and runc's own one (devices).
func serving(t *testing.T, it imageTest, p *Process) (int, []string) {
	t.Helper()
	waitFor(t, "the image's httpd to answer", func() bool { return get(it.port) == "hello from the image\n" })
	init := containerPID(p)
	if init == 0 {
		t.Fatal("no container init below runc")
	}
	return init, []string{
		filepath.Join("/sys/fs/cgroup/memory", filepath.Dir(procCgroup(t, init, "memory"))),
		filepath.Join("/sys/fs/cgroup/devices", procCgroup(t, init, "devices")),
	}
}

// checkStopped fails the test if the container whose init was init still
// answers, runs or left anything.
func checkStopped(t *testing.T, it imageTest, p *Process, init int, cgroups []string) {
	t.Helper()
	if get(it.port) != "" || testutil.ProcessAlive(t, init) {
		t.Error("the container runs after Stop")
	}
	checkClean(t, it.Spec, p, cgroups)
}

// A web instance from an image answers on the host's 127.0.0.1:PORT, runs
// as the app's uid in a cgroup below the process's own, whose limit holds
// for it (runc writes none of its own), and leaves nothing once stopped.
func TestImage_ServesFromItsCgroupAndStopsClean(t *testing.T) {
	it := imageSpec(t, webArgs...)
	p := startImageTest(t, it.Spec)
	init, cgroups := serving(t, it, p)
	if ok, err := p.OwnsListener(it.port); !ok || err != nil {
		t.Errorf("OwnsListener(%d) = %v, %v: the listener is the container's, under runc", it.port, ok, err)
	}
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(init) + "/status")
	if !strings.Contains(string(status), "\nUid:\t65534\t65534\t65534\t65534\n") || !strings.Contains(string(status), "\nGroups:\t \n") {
		t.Errorf("the container runs as\n%s", status)
	}
	// The container's memory cgroup is runc's, below the process's.
	own := procCgroup(t, init, "memory")
	if filepath.Base(filepath.Dir(own)) != p.cgroup {
		t.Fatalf("the container's memory cgroup is %s, not below the process's %s", own, p.cgroup)
	}
	limit := func(cg string) int64 {
		data, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", cg, "memory.limit_in_bytes"))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		return n
	}
	if got := limit(filepath.Dir(own)); got != 64<<20 {
		t.Errorf("the process's cgroup has memory limit %d, want 64M", got)
	}
	if got := limit(own); got < 1<<60 {
		t.Errorf("runc gave the container's cgroup a limit of its own: %d", got)
	}

	p.Stop(10 * time.Second)
	// runc ended with the container (128+SIGKILL, the default action of the
	// SIGTERM its init had no handler for), not killed after the grace.
	var exit *exec.ExitError
	if !errors.As(p.Err(), &exit) || exit.ExitCode() != 137 {
		t.Errorf("runc ended with %v, want status 137", p.Err())
	}
	checkStopped(t, it, p, init, cgroups)
}

// What a hostile app in an image tries, and its outcome: it runs as its
// own uid with no capability, cannot write the image, can write HOME and
// TMPDIR, binds its port and no other, sees none of the host's processes
// and none of /proc's host secrets.
func TestImage_ConfinesTheApp(t *testing.T) {
	it := imageSpec(t)
	other := freePort(t)
	try := func(what, cmd string) string {
		return fmt.Sprintf("if %s >/dev/null 2>&1; then echo '%s: yes'; else echo '%s: no'; fi\n", cmd, what, what)
	}
	script := `echo "uid $(id -u) groups $(id -G)"
echo "env $IMAGE_VAR $PORT $PATH $TMPDIR $HOME"
grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs):' /proc/self/status
n=$(ls -d /proc/[0-9]* | wc -l); [ $n -lt 10 ] && echo "few processes: $n"
` + try("write the image", "touch /www/x") +
		try("write HOME", "touch $HOME/x") +
		try("write TMPDIR", "touch $TMPDIR/x") +
		try("bind its port", "httpd -p 127.0.0.1:$PORT -h /www") +
		try("bind another port", fmt.Sprintf("httpd -p 127.0.0.1:%d -h /www", other)) +
		try("read kcore", "test -s /proc/kcore") +
		try("/proc/sys writable", "! grep -q ' /proc/sys ro,' /proc/self/mountinfo") +
		"grep ' /proc/sys ' /proc/self/mountinfo\n"
	it.Image.Args = []string{"/bin/sh", "-c", script}
	p := startImageTest(t, it.Spec)
	waitExit(t, p)
	p.Stop(time.Second)
	out := strings.Join(p.LogTail(30), "\n")
	t.Logf("the container reported:\n%s", out)
	for _, want := range []string{
		"uid 65534 groups 65534", "env from-image " + strconv.Itoa(it.port) + " /bin /tmp /home/app",
		"CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1",
		"few processes", // its own: sh, ls and wc
		"write the image: no", "write HOME: yes", "write TMPDIR: yes",
		"bind its port: yes", "bind another port: no", "read kcore: no", "/proc/sys writable: no",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q; the container reported:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(it.home, "x")); err != nil {
		t.Errorf("the file written to HOME is not in the host's HOME: %v", err)
	}
}

// A later slipway adopts the runc process from what the first recorded,
// and its Stop ends the container and leaves nothing behind.
func TestImage_AdoptedAndStopped(t *testing.T) {
	it := imageSpec(t, webArgs...)
	first, err := Start(it.Spec)
	if err != nil {
		t.Fatal(err)
	}
	init, cgroups := serving(t, it, first)
	first.Detach() // the first slipway hands over
	p, err := Adopt(it.Spec, first.Running())
	if err != nil {
		t.Fatal(err)
	}
	if p.PID() != first.PID() || !p.Alive() {
		t.Fatalf("adopted pid %d alive %v, started as %d", p.PID(), p.Alive(), first.PID())
	}
	p.Stop(10 * time.Second)
	<-first.Exited() // the test is runc's parent: reap it
	checkStopped(t, it, p, init, cgroups)
}

// runc killed with SIGKILL leaves its container running and its state
// behind; Stop ends the one and removes the other.
func TestImage_StopAfterRuncWasKilled(t *testing.T) {
	it := imageSpec(t, webArgs...)
	p := startImageTest(t, it.Spec)
	init, cgroups := serving(t, it, p)
	syscall.Kill(p.PID(), syscall.SIGKILL)
	<-p.Exited()
	if get(it.port) == "" {
		t.Fatal("the container did not outlive runc: the test proves nothing")
	}
	p.Stop(time.Second)
	checkStopped(t, it, p, init, cgroups)
}

// SweepContainers ends and deletes what a killed runc left, and keeps
// the containers it is told to keep.
func TestSweepContainers_DeletesWhatAKilledRuncLeft(t *testing.T) {
	it := imageSpec(t, webArgs...)
	p := startImageTest(t, it.Spec)
	init, _ := serving(t, it, p)
	syscall.Kill(p.PID(), syscall.SIGKILL)
	<-p.Exited()
	for _, c := range []struct {
		keep bool
		want int
	}{{true, 0}, {false, 1}} {
		n, err := SweepContainers(*it.Image, "slipway-test-", func(string) bool { return c.keep })
		if n != c.want || err != nil {
			t.Fatalf("SweepContainers keeping %v = %d, %v, want %d deleted", c.keep, n, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(it.Image.StateDir); len(entries) > 0 {
		t.Errorf("runc's state dir holds %s after the sweep", entries[0].Name())
	}
	if get(it.port) != "" || testutil.ProcessAlive(t, init) {
		t.Error("the container runs after the sweep")
	}
}

// A command the image lacks fails the start with runc's reason in the
// process's log, for the pusher.
func TestImage_MissingCommandSaysWhy(t *testing.T) {
	it := imageSpec(t, "/bin/no-such-server")
	p := startImageTest(t, it.Spec)
	waitExit(t, p)
	out := strings.Join(p.LogTail(5), "\n")
	t.Logf("the log says: %s", out)
	if !strings.Contains(out, "no-such-server") || !strings.Contains(out, "no such file") {
		t.Errorf("the log says %q", out)
	}
}

// The process's memory limit holds for the container.
func TestImage_MemoryLimitHolds(t *testing.T) {
	it := imageSpec(t, "/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=200M count=1 && echo allocated")
	p := startImageTest(t, it.Spec)
	waitExit(t, p)
	p.Stop(time.Second)
	if out := strings.Join(p.LogTail(5), "\n"); strings.Contains(out, "allocated") {
		t.Errorf("200M allocated under a 64M limit: %s", out)
	}
	if got := p.ExitText(); got != "was killed: out of memory (limit 64M)" {
		t.Errorf("ExitText = %q", got)
	}
}

// Without runc, Start says which package to install.
func TestImage_WithoutRuncSaysWhatToInstall(t *testing.T) {
	it := imageSpec(t, "true")
	it.Image.Runtime = filepath.Join(t.TempDir(), "runc")
	_, err := Start(it.Spec)
	if err == nil || !strings.Contains(err.Error(), "install the Debian package runc") {
		t.Fatalf("Start without runc = %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(it.TmpDir)); len(entries) > 0 {
		t.Errorf("a failed start left %s", entries[0].Name())
	}
}

// An image whose working directory is in /proc (where a descriptor runc
// leaked would open the host's files) or relative is refused.
func TestImage_RefusesAWorkDirInProc(t *testing.T) {
	it := imageSpec(t, "true")
	for _, dir := range []string{"/proc/self/fd/7", "/proc", "www"} {
		it.Image.WorkDir = dir
		if _, err := Start(it.Spec); err == nil || !strings.Contains(err.Error(), "working directory") {
			t.Errorf("Start with WorkDir %q = %v", dir, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(it.TmpDir)); len(entries) > 0 {
		t.Errorf("a refused start left %s", entries[0].Name())
	}
}

// BenchmarkImageStart compares, side by side, the time from Start until
// busybox httpd accepts on its port: run from a directory (dir) and from
// the same files as an image's root with runc (image), both sandboxed as
// the app's uid in a cgroup, then stopped.
//
//	go test -run '^$' -bench ImageStart -count 5 ./supervisor
func BenchmarkImageStart(b *testing.B) {
	it := imageSpec(b)
	// The launcher of the directory's httpd runs as the app's uid, which
	// must be able to execute it.
	exe, _ := os.Executable()
	data, err := os.ReadFile(exe)
	if err != nil {
		b.Fatal(err)
	}
	launcher := filepath.Join(filepath.Dir(it.Image.Rootfs), "launcher")
	if err := os.WriteFile(launcher, data, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, image := range []bool{false, true} {
		name := "dir"
		if image {
			name = "image"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				s := it.Spec
				s.TmpDir = fmt.Sprintf("%s.%d", it.TmpDir, i)
				if image {
					s.Image.Args = []string{"httpd", "-f", "-p", "127.0.0.1:" + strconv.Itoa(it.port), "-h", "/www"}
				} else {
					sb := *s.Sandbox
					sb.Read, sb.Launcher = []string{s.Image.Rootfs}, launcher
					s.Sandbox, s.Image = &sb, nil
					s.Dir = it.Image.Rootfs
					s.Command = fmt.Sprintf("exec %s/bin/httpd -f -p 127.0.0.1:%d -h %s/www", it.Image.Rootfs, it.port, it.Image.Rootfs)
				}
				p, err := Start(s)
				if err != nil {
					b.Fatal(err)
				}
				for {
					c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(it.port))
					if err == nil {
						c.Close()
						break
					}
					if !p.Alive() {
						b.Fatalf("httpd ended: %q", p.LogTail(5))
					}
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				p.Stop(5 * time.Second)
				b.StartTimer()
			}
		})
	}
}
