package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Time limits of the slipway process.
const (
	startTimeout = 60 * time.Second // until it logs "slipway ready"
	stopTimeout  = 30 * time.Second // from SIGTERM until it is killed
)

// server is a running `slipway serve` on 127.0.0.1 port 0: the process
// the tool started, or the one it handed over to (an upgrade), or a new
// one started after a kill -9.
type server struct {
	cfg     serverConfig
	logPath string
	log     *os.File
	cmd     *exec.Cmd     // the process the tool started last
	waited  chan struct{} // closed when cmd has exited
	waitErr error
	pid     int // the slipway process serving now
	// sockets, when set, are the listening sockets the tool holds, as a
	// service manager would, passed to every slipway it starts.
	sockets []*os.File

	mu     sync.Mutex
	addrs  map[string]string // service → bound address
	ready  int               // "slipway ready" lines seen
	readyc chan struct{}     // closed and replaced at every one
}

// serverConfig is how to start one server.
type serverConfig struct {
	Bin          string
	DataDir      string
	Home         string // HOME of the process
	LogPath      string
	Domain       string
	SessionTTL   time.Duration
	DrainTimeout time.Duration
	// MaxDraining is slipway serve --max-draining: the run keeps every
	// release's sessions (its deploys and one more).
	MaxDraining int
	// DrainSleepAfter is slipway serve --drain-sleep-after; 0 leaves
	// slipway's default.
	DrainSleepAfter time.Duration
	Strategy        string
	// Activation passes listening sockets the tool holds, as systemd's
	// the slipway-*.socket units do, instead of letting slipway listen.
	Activation bool
	Started    func(*os.Process) // may be nil
}

var listenRE = regexp.MustCompile(`msg=listening service=(\w+) addr=(\S+)`)

// services are slipway's listeners, in the order of its socket activation.
var services = []string{"ssh", "http", "admin"}

// startServer starts slipway and waits until it is ready. On error the
// process, if any, has been stopped.
func startServer(ctx context.Context, c serverConfig) (*server, error) {
	logf, err := os.Create(c.LogPath)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: c, logPath: c.LogPath, log: logf, addrs: map[string]string{}, readyc: make(chan struct{})}
	if c.Activation {
		for range services {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				s.closeSockets()
				return nil, err
			}
			f, err := ln.(*net.TCPListener).File()
			ln.Close() // the file keeps the socket listening
			if err != nil {
				s.closeSockets()
				return nil, err
			}
			s.sockets = append(s.sockets, f)
		}
	}
	if err := s.start(ctx); err != nil {
		s.closeSockets()
		logf.Close()
		return nil, err
	}
	return s, nil
}

// start starts a slipway process on the server's data dir, on the
// addresses the last one had (or the sockets the tool holds), and waits
// until it is ready.
func (s *server) start(ctx context.Context) error {
	c := s.cfg
	addr := func(service string) string {
		if a := s.addr(service); a != "" {
			return a // the same address again, after a kill -9
		}
		return "127.0.0.1:0"
	}
	args := []string{"serve", "--data", c.DataDir,
		"--ssh-addr", addr("ssh"), "--http-addr", addr("http"), "--admin-addr", addr("admin"),
		"--domain", c.Domain, "--session-ttl", c.SessionTTL.String(),
		"--drain-timeout", c.DrainTimeout.String(), "--deploy-strategy", c.Strategy,
		"--max-draining", strconv.Itoa(max(c.MaxDraining, 1))}
	if c.DrainSleepAfter > 0 {
		args = append(args, "--drain-sleep-after", c.DrainSleepAfter.String())
	}
	cmd := exec.Command(c.Bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+c.Home)
	if s.sockets != nil {
		// LISTEN_PID is the pid that execs slipway, set after the fork,
		// as systemd does.
		cmd = exec.Command("/bin/sh", append([]string{"-c", `LISTEN_PID=$$ exec "$0" "$@"`, c.Bin}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+c.Home, "LISTEN_FDS="+strconv.Itoa(len(s.sockets)), "LISTEN_FDNAMES="+strings.Join(services, ":"))
		cmd.ExtraFiles = s.sockets
	}
	// A pipe of the tool's own, read until every writer is gone: a
	// slipway this one hands over to (an upgrade) logs to it too, and it
	// must not be closed under it when this one exits.
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group: a Ctrl-C in the terminal reaches only this
	// tool, which then stops slipway itself, once, by pid.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return fmt.Errorf("start slipway: %w", err)
	}
	go s.readLog(r)
	waited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.waited, s.pid = cmd, waited, cmd.Process.Pid
	readyc := s.readyc
	s.mu.Unlock()
	if c.Started != nil {
		c.Started(cmd.Process)
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(waited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-readyc:
		if s.addr("ssh") != "" && s.addr("http") != "" && s.addr("admin") != "" {
			return nil
		}
		err = errors.New("slipway is ready but did not log all of its addresses")
	case <-waited:
		err = fmt.Errorf("slipway exited before it was ready: %v", s.waitErr)
	case <-timer.C:
		err = fmt.Errorf("slipway not ready after %s", startTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.stop()
	return fmt.Errorf("%w (log: %s)", err, c.LogPath)
}

// readLog copies slipway's output to the log file, noting the bound
// addresses and every "slipway ready".
func (s *server) readLog(r *os.File) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.log.WriteString(line + "\n")
		if m := listenRE.FindStringSubmatch(line); m != nil {
			s.addrs[m[1]] = m[2]
		}
		if strings.Contains(line, "slipway ready") {
			s.ready++
			close(s.readyc)
			s.readyc = make(chan struct{})
		}
		s.mu.Unlock()
	}
}

// addr returns the bound address of service ssh, http or admin.
func (s *server) addr(service string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[service]
}

// servingPID returns the pid of the slipway process serving now.
func (s *server) servingPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}

// upgrade sends SIGHUP to the serving slipway and waits until the process
// it hands over to is ready and it has exited. It returns how long the
// new one took to be ready.
func (s *server) upgrade(ctx context.Context) (time.Duration, error) {
	s.mu.Lock()
	old, readyc := s.pid, s.readyc
	s.mu.Unlock()
	start := time.Now()
	if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
		return 0, fmt.Errorf("SIGHUP to slipway (pid %d): %w", old, err)
	}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-readyc:
	case <-timer.C:
		return 0, fmt.Errorf("no new slipway ready %s after SIGHUP (log: %s)", startTimeout, s.logPath)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	took := time.Since(start)
	data, _ := os.ReadFile(filepath.Join(s.cfg.DataDir, "slipway.pid"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid == old {
		return took, fmt.Errorf("after the upgrade slipway.pid names %q, not a new process", data)
	}
	if err := waitGone(ctx, old, stopTimeout); err != nil {
		return took, fmt.Errorf("the old slipway (pid %d) did not exit after handing over", old)
	}
	s.mu.Lock()
	s.pid = pid
	s.mu.Unlock()
	return took, nil
}

// kill9 kills the serving slipway with SIGKILL and starts a new one on the
// same data dir and addresses. It returns the time from the new start
// until it was ready.
func (s *server) kill9(ctx context.Context) (time.Duration, error) {
	s.mu.Lock()
	pid, cmd, waited := s.pid, s.cmd, s.waited
	s.mu.Unlock()
	syscall.Kill(pid, syscall.SIGKILL)
	if pid == cmd.Process.Pid {
		<-waited // the kernel tells the parent once every thread is gone
	} else if err := waitGone(ctx, pid, stopTimeout); err != nil {
		return 0, fmt.Errorf("slipway (pid %d) did not die of SIGKILL", pid)
	}
	start := time.Now()
	if err := s.start(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// waitGone waits until process pid is gone or a zombie.
func waitGone(ctx context.Context, pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still runs", pid)
		}
		if err := sleepUntil(ctx, time.Now().Add(10*time.Millisecond)); err != nil {
			return err
		}
	}
	return nil
}

// processAlive reports whether any thread of pid runs: its leader may be
// a zombie while other threads still exit, holding its sockets.
func processAlive(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	data, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	if i > 0 && i+2 < len(data) && data[i+2] != 'Z' {
		return true
	}
	tasks, _ := os.ReadDir(dir + "/task")
	return len(tasks) > 1
}

// stop sends SIGTERM to the serving slipway, by its pid, and waits for it
// to exit; it kills it if it has not exited after stopTimeout.
func (s *server) stop() error {
	defer s.closeSockets()
	s.mu.Lock()
	pid, cmd, waited := s.pid, s.cmd, s.waited
	s.mu.Unlock()
	if pid != cmd.Process.Pid { // handed over: not the tool's child
		syscall.Kill(pid, syscall.SIGTERM)
		if err := waitGone(context.Background(), pid, stopTimeout); err != nil {
			syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("slipway did not stop within %s of SIGTERM and was killed (log: %s)", stopTimeout, s.logPath)
		}
		return nil
	}
	select {
	case <-waited:
		return s.waitErr
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-waited:
		return s.waitErr
	case <-t.C:
		cmd.Process.Kill()
		<-waited
		return fmt.Errorf("slipway did not stop within %s of SIGTERM and was killed (log: %s)", stopTimeout, s.logPath)
	}
}

// finish stops the server at the end of a run whose error is *err: a
// stop that fails becomes the run's error, and any error names the log.
func (s *server) finish(err *error) {
	if serr := s.stop(); serr != nil && *err == nil {
		*err = fmt.Errorf("stop slipway: %w", serr)
	}
	if *err != nil {
		*err = fmt.Errorf("%w\nslipway log: %s", *err, s.logPath)
	}
}

// closeSockets closes the listening sockets the tool holds.
func (s *server) closeSockets() {
	for _, f := range s.sockets {
		f.Close()
	}
	s.sockets = nil
}

// logLines returns the lines of slipway's log that contain any of words.
func (s *server) logLines(words ...string) []string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

// releaseLiveTimes reads from slipway's log when each release of app went
// live ("release live" lines), keyed by release ("v3").
func (s *server) releaseLiveTimes(app string) map[string]time.Time {
	times := map[string]time.Time{}
	for _, line := range s.logLines(`msg="release live"`) {
		if logField(line, "app") != app {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, logField(line, "time"))
		if err == nil {
			times[logField(line, "release")] = t
		}
	}
	return times
}

// maxDraining returns the most draining pools app had at once, from the
// router's "pool live" and "pool retired" lines.
func (s *server) maxDraining(app string) int {
	most := 0
	for _, line := range s.logLines(`msg="router: pool live"`, `msg="router: pool retired"`) {
		if logField(line, "app") != app {
			continue
		}
		if n, err := strconv.Atoi(logField(line, "draining")); err == nil {
			most = max(most, n)
		}
	}
	return most
}

// logField returns the unquoted value of key=value in a slog text line.
func logField(line, key string) string {
	i := strings.Index(" "+line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+1:]
	if strings.HasPrefix(v, `"`) {
		if j := strings.Index(v[1:], `"`); j >= 0 {
			return v[1 : j+1]
		}
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}

// newKey generates an ed25519 key pair in dir and returns the private key path.
func newKey(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "id_ed25519")
	out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "slipway-load", "-f", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	return path, nil
}
