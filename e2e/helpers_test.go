package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/appdisk"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/netfilter"
	"github.com/slipway/slipway/supervisor"
)

// slipwayBin is the binary under test, built once by TestMain, from the
// commit builtFrom.
var slipwayBin, builtFrom string

func TestMain(m *testing.M) {
	supervisor.Reexec() // the Kubernetes tests' node runs pods as slipway runs instances
	dir, err := os.MkdirTemp("", "slipway-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // for the tests that run slipway as another user
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	slipwayBin = filepath.Join(dir, "slipway")
	// The host's uid registry, for every slipway this run starts: as on a
	// host, and not the real one in /etc.
	os.Setenv("SLIPWAY_UID_REGISTRY", filepath.Join(dir, "uid-ranges"))
	// -buildvcs=true: the commit goes into the binary (slipway version)
	// even where the Go environment turns that off.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if head, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output(); err == nil {
		builtFrom = strings.TrimSpace(string(head))
	}
	cancel()
	build := exec.Command("go", "build", "-buildvcs=true", "-o", slipwayBin, "../cmd/slipway")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build slipway:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testDomain is the domain every test server serves apps under.
const testDomain = "slipway.test"

// server is a running `slipway serve` with its own data dir and ssh key.
type server struct {
	t         testing.TB
	dataDir   string
	home      string // HOME for the git and ssh clients
	key       string // private key authorized to push
	sshAddr   string
	httpAddr  string
	httpsAddr string
	adminAddr string
	uid       int // the user slipway runs as
	// prepare, when set, changes the command before start runs it.
	prepare func(*exec.Cmd)
	// bin, when set, is the executable to run instead of slipwayBin.
	bin string
	cmd *exec.Cmd
	// pid is the slipway process serving now: cmd's, or after an upgrade
	// the one it handed over to (not the test's child).
	pid int

	mu  sync.Mutex
	log bytes.Buffer
}

// newDataDir returns a data dir path in a temp dir whose ancestors every
// user may pass through, as /var/lib on a host: apps with users of their
// own must reach their app dirs inside it.
func newDataDir(t testing.TB) string {
	dir := t.TempDir()
	t.Cleanup(func() { appdisk.DetachUnder(dir) }) // the apps' disks, before the temp dir goes
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "data")
}

// startServer starts slipway on 127.0.0.1 port 0 with a temp data dir and
// a fresh ed25519 key in its authorized_keys. The test's cleanup stops it.
func startServer(t testing.TB, extraArgs ...string) *server {
	t.Helper()
	return startServerAs(t, os.Geteuid(), extraArgs...)
}

// unprivilegedUID is the user the tests run slipway as to try it without
// root, as on a laptop.
const unprivilegedUID = 12345

// startServerAs is startServer with slipway running as uid (with setpriv,
// no groups, no capabilities), on a data dir that uid owns.
func startServerAs(t testing.TB, uid int, extraArgs ...string) *server {
	t.Helper()
	s := newServer(t, uid)
	s.start(extraArgs...)
	return s
}

// newServer prepares a server that runs as uid, for start.
func newServer(t testing.TB, uid int) *server {
	t.Helper()
	s := &server{t: t, dataDir: newDataDir(t), home: t.TempDir(), uid: uid}
	cleanUpHost(t, s.dataDir)
	s.key = newKey(t, s.home, "id_ed25519")
	pub, err := os.ReadFile(s.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dataDir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if uid != os.Geteuid() {
		for _, p := range []string{s.dataDir, filepath.Join(s.dataDir, "authorized_keys")} {
			if err := os.Chown(p, uid, uid); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

// start runs the binary on s's data dir and waits until it is ready.
func (s *server) start(extraArgs ...string) {
	t := s.t
	t.Helper()
	args := append([]string{"serve", "--data", s.dataDir, "--ssh-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--domain", testDomain}, extraArgs...)
	bin := slipwayBin
	if s.bin != "" {
		bin = s.bin
	}
	cmd := exec.Command(bin, args...)
	if s.uid != os.Geteuid() {
		id := strconv.Itoa(s.uid)
		cmd = exec.Command(testutil.NeedTool(t, "setpriv", "util-linux"), append([]string{"--reuid", id, "--regid", id, "--clear-groups", "--inh-caps=-all", "--", bin}, args...)...)
	}
	cmd.Env = append(os.Environ(), "HOME="+s.home)
	if s.prepare != nil {
		s.prepare(cmd)
	}
	// A pipe of the test's own, not StderrPipe: Wait on the first process
	// must not close it while a process it handed over to still logs.
	stderr, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	s.cmd, s.pid = cmd, cmd.Process.Pid
	t.Cleanup(func() { s.stop() })
	ready := make(chan error, 1)
	go s.readLog(stderr, ready)
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("slipway did not start: %v\n%s", err, s.logText())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("slipway not ready after 60s:\n%s", s.logText())
	}
}

var listenRE = regexp.MustCompile(`msg=listening service=(\w+) addr=(\S+)`)

// readLog keeps slipway's log and reports readiness once it logs "slipway ready".
func (s *server) readLog(r io.Reader, ready chan<- error) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.log.WriteString(line + "\n")
		if m := listenRE.FindStringSubmatch(line); m != nil {
			// Written only when it changes: after an upgrade the new
			// process logs the same addresses while tests read them.
			addr := map[string]*string{"ssh": &s.sshAddr, "http": &s.httpAddr, "https": &s.httpsAddr, "admin": &s.adminAddr}[m[1]]
			if addr != nil && *addr != m[2] {
				*addr = m[2]
			}
		}
		s.mu.Unlock()
		if !sent && strings.Contains(line, "slipway ready") {
			ready <- nil
			sent = true
		}
	}
	if !sent {
		ready <- fmt.Errorf("log ended before ready")
	}
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// stop sends SIGTERM and waits; it fails the test if slipway does not stop
// within its shutdown timeout.
func (s *server) stop() {
	if s.cmd != nil && s.pid != s.cmd.Process.Pid {
		s.stopHandedOver()
		return
	}
	if s.cmd == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Errorf("slipway exited with %v after SIGTERM\n%s", err, s.logText())
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
		s.t.Errorf("slipway did not stop within 30s of SIGTERM")
	}
}

// stopHandedOver stops the slipway process an upgrade handed over to: not
// the test's child, so it is watched through /proc until it is gone (or a
// zombie of an init that does not reap).
func (s *server) stopHandedOver() {
	pid := s.pid
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			s.t.Errorf("slipway (pid %d) did not stop within 30s of SIGTERM", pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.pid = s.cmd.Process.Pid
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i > 0 && i+2 < len(data) && data[i+2] != 'Z'
}

// upgrade makes the serving slipway hand over to a new process with
// trigger (SIGHUP, `slipway upgrade`) and waits until the new one serves
// and the old one has exited. It returns the new pid.
func (s *server) upgrade(trigger func(pid int)) int {
	s.t.Helper()
	old := s.pid
	readies := strings.Count(s.logText(), "slipway ready")
	trigger(old)
	waitFor(s.t, "the new slipway to be ready", func() bool {
		return strings.Count(s.logText(), "slipway ready") > readies
	})
	data, err := os.ReadFile(filepath.Join(s.dataDir, "slipway.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid == old || pid <= 0 {
		s.t.Fatalf("after the upgrade slipway.pid = %q, %v; want a new pid\n%s", data, err, s.logText())
	}
	waitFor(s.t, "the old slipway to exit", func() bool { return !processAlive(old) })
	if old == s.cmd.Process.Pid {
		s.cmd.Wait()
	}
	s.pid = pid
	return pid
}

// cleanUpHost removes, at the end of the test and after the server
// stopped (even by kill -9), what slipway made on the host for the data
// dir: its apps' users and its iptables chain.
func cleanUpHost(t testing.TB, dataDir string) {
	t.Cleanup(func() {
		testutil.RemoveUsersUnder(dataDir)
		if os.Geteuid() == 0 {
			netfilter.Door{Chain: netfilter.ChainFor(dataDir)}.Open(context.Background())
		}
	})
}

// newKey generates an ed25519 key pair in dir and returns the private key path.
func newKey(t testing.TB, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	out, err := testutil.Command(t, time.Minute, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@e2e", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return path
}

// appPIDs returns the pids, sorted, of the processes of the apps of s's
// data dir whose command line holds one of markers. A process is the data
// dir's when its HOME is inside it, as every app process's and build
// step's is: another slipway on the host (another test run's) may run the
// very same commands, and its processes are not counted.
func (s *server) appPIDs(markers ...string) []string {
	var pids []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		line := strings.ReplaceAll(string(b), "\x00", " ")
		if slices.ContainsFunc(markers, func(m string) bool { return strings.Contains(line, m) }) && s.homeInDataDir(filepath.Dir(p)) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	slices.Sort(pids)
	return pids
}

// homeInDataDir reports whether the process of /proc/PID dir started with
// a HOME inside s's data dir.
func (s *server) homeInDataDir(dir string) bool {
	env, err := os.ReadFile(filepath.Join(dir, "environ"))
	if err != nil {
		return false
	}
	for v := range strings.SplitSeq(string(env), "\x00") {
		if home, ok := strings.CutPrefix(v, "HOME="); ok {
			return strings.HasPrefix(home, s.dataDir+"/")
		}
	}
	return false
}

// countRunning counts the processes of s's apps whose command line holds
// marker.
func (s *server) countRunning(marker string) int { return len(s.appPIDs(marker)) }

// running reports whether a process of s's apps whose command line holds
// marker runs.
func (s *server) running(marker string) bool { return s.countRunning(marker) > 0 }

// sshPort returns the port of the ssh address.
func (s *server) sshPort() string {
	_, port, _ := strings.Cut(s.sshAddr, ":")
	return port
}

// remote returns the git URL of app.
func (s *server) remote(app string) string {
	return "ssh://git@" + s.sshAddr + "/" + app
}

// sshCommand is GIT_SSH_COMMAND for pushing with key.
func sshCommand(key string) string {
	return "ssh -i " + key + " -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
}

// gitEnv is the environment for git commands run by a test: no user or
// system config, the given ssh key.
func (s *server) gitEnv(key string) []string {
	return append(os.Environ(),
		"HOME="+s.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_SSH_COMMAND="+sshCommand(key),
		"GIT_AUTHOR_NAME=E2E Tester", "GIT_AUTHOR_EMAIL=e2e@example.com",
		"GIT_COMMITTER_NAME=E2E Tester", "GIT_COMMITTER_EMAIL=e2e@example.com",
	)
}

// git runs git in dir and returns its combined output and error.
func (s *server) git(dir string, args ...string) (string, error) {
	return s.gitWithKey(s.key, dir, args...)
}

// gitWithKey runs git in dir with key for at most ten minutes (a push
// builds).
func (s *server) gitWithKey(key, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.WaitDelay = 10 * time.Second // git's ssh child may hold the output
	cmd.Dir = dir
	cmd.Env = s.gitEnv(key)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustGit runs git and fails the test on error.
func (s *server) mustGit(dir string, args ...string) string {
	s.t.Helper()
	out, err := s.git(dir, args...)
	if err != nil {
		s.t.Fatalf("git %s: %v\n%s\nslipway log:\n%s", strings.Join(args, " "), err, out, s.logText())
	}
	return out
}

// ssh runs an ssh command against slipway with key, for at most five
// minutes (a deploy's worth).
func (s *server) ssh(key string, command ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return s.sshContext(ctx, key, command...)
}

// sshContext runs an ssh command against slipway with key until ctx ends.
func (s *server) sshContext(ctx context.Context, key string, command ...string) (string, error) {
	args := append(strings.Fields(sshCommand(key))[1:], "-p", s.sshPort(), "git@127.0.0.1")
	args = append(args, command...)
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Env = append(os.Environ(), "HOME="+s.home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustSSH runs a command over ssh with the test key and returns its
// output, failing the test if it fails.
func (s *server) mustSSH(command ...string) string {
	s.t.Helper()
	out, err := s.ssh(s.key, command...)
	if err != nil {
		s.t.Fatalf("ssh %s: %v\n%s", strings.Join(command, " "), err, out)
	}
	return out
}

// newApp makes a git work tree with files and commits them on main.
func (s *server) newApp(files map[string]string) string {
	s.t.Helper()
	dir := s.t.TempDir()
	s.mustGit(dir, "init", "-q", "-b", "main")
	s.commit(dir, "first version", files)
	return dir
}

// commit writes files into the work tree dir and commits them.
func (s *server) commit(dir, message string, files map[string]string) {
	s.t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	s.mustGit(dir, "add", "-A")
	s.mustGit(dir, "commit", "-q", "--allow-empty", "-m", message)
}

// get fetches path of app through the router and returns status and body.
func (s *server) get(app, path string) (int, string) {
	s.t.Helper()
	return s.getHost(app+"."+testDomain, path)
}

// getHost fetches path with Host host through the router and returns
// status and body.
func (s *server) getHost(host, path string) (int, string) {
	s.t.Helper()
	code, body, err := s.fetch(http.DefaultClient, host, path)
	if err != nil {
		s.t.Fatal(err)
	}
	return code, body
}

// getWith is get with client (its cookie jar).
func (s *server) getWith(client *http.Client, app, path string) (int, string) {
	s.t.Helper()
	code, body, err := s.fetch(client, app+"."+testDomain, path)
	if err != nil {
		s.t.Fatal(err)
	}
	return code, body
}

// fetch GETs path with Host host through the router with client, within
// 10 s, from any goroutine.
func (s *server) fetch(client *http.Client, host, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.httpAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s%s: read the body: %v", host, path, err)
	}
	return resp.StatusCode, string(body), nil
}

// wantServes fails the test unless app answers path with 200 and body.
func (s *server) wantServes(app, path, body string) {
	s.t.Helper()
	code, got := s.get(app, path)
	if code != http.StatusOK || !strings.Contains(got, body) {
		s.t.Fatalf("GET %s.%s%s = %d %q, want 200 with %q\nslipway log:\n%s", app, testDomain, path, code, got, body, s.logText())
	}
}

// staticApp is a Procfile app with no build step: python's http.server
// serving an index.html that names its version.
func staticApp(version string) map[string]string {
	return map[string]string{
		"Procfile":   "web: python3 -m http.server --bind 127.0.0.1 $PORT\n",
		"index.html": "<h1>hello from " + version + "</h1>\n",
	}
}

// waitFor polls cond until it holds, failing the test after testutil.Timeout.
var waitFor = testutil.WaitFor

// binaryMB is the size of the slipway binary under test, in MiB rounded
// up: what its copy in DATA/bin takes of a small data dir.
func binaryMB(t testing.TB) int64 {
	t.Helper()
	fi, err := os.Stat(slipwayBin)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()>>20 + 1
}
