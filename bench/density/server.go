package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
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

// Time limits of a slipway process.
const (
	startTimeout = 90 * time.Second // until it logs "slipway ready"
	stopTimeout  = 45 * time.Second // from SIGTERM until it is killed
)

// domain is what the apps are served under: Host app001.density.test.
const domain = "density.test"

// sysPath is slipway's PATH, and so its apps': the system's, so that the
// apps' users find /usr/bin/python3 rather than a shim in root's home.
const sysPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// server is a running `slipway serve` on 127.0.0.1 port 0 (the way
// cmd/slipway-load starts one): the process this tool started, or the one
// it handed over to (an upgrade), or a new one started after a kill -9.
type server struct {
	bin, data, home string
	logPath         string
	log             *os.File
	cmd             *exec.Cmd     // the process the tool started last
	waited          chan struct{} // closed when cmd has exited
	waitErr         error
	pid             int // the slipway process serving now
	// env is added to the environment of the processes started from now
	// on (not to one an upgrade starts: that inherits its parent's).
	env []string

	mu     sync.Mutex
	addrs  map[string]string // service → bound address
	readyc chan struct{}     // closed and replaced at every "slipway ready"
}

var listenRE = regexp.MustCompile(`msg=listening service=(\w+) addr=(\S+)`)

// startServer starts slipway as root on data and waits until it is ready.
// On error the process, if any, has been stopped.
func startServer(ctx context.Context, bin, data, home, logPath string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, data: data, home: home, logPath: logPath, log: logf,
		addrs: map[string]string{}, readyc: make(chan struct{})}
	if err := s.start(ctx); err != nil {
		logf.Close()
		return nil, err
	}
	return s, nil
}

// start starts a slipway process on the server's data dir, on the
// addresses the last one had, and waits until it is ready.
func (s *server) start(ctx context.Context) error {
	addr := func(service string) string {
		if a := s.addr(service); a != "" {
			return a // the same address again, after a kill -9
		}
		return "127.0.0.1:0"
	}
	args := []string{"serve", "--data", s.data, "--domain", domain, "--app-disk", "0",
		"--ssh-addr", addr("ssh"), "--http-addr", addr("http"), "--admin-addr", addr("admin")}
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append([]string{"HOME=" + s.home, "PATH=" + sysPath, "LANG=C.UTF-8"}, s.env...)
	// A pipe of the tool's own, read until every writer is gone: the
	// slipway this one hands over to (an upgrade) logs to it too.
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group: a Ctrl-C in the terminal reaches only this
	// tool, which then stops slipway itself, by pid.
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
	return fmt.Errorf("%w (log: %s)", err, s.logPath)
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
// it hands over to is ready. It returns when it sent the signal and how
// long the new one took to be ready; done waits for the old one to exit
// and takes the new one as the serving process.
func (s *server) upgrade(ctx context.Context) (sent time.Time, ready time.Duration, done func() error, err error) {
	s.mu.Lock()
	old, readyc := s.pid, s.readyc
	s.mu.Unlock()
	sent = time.Now()
	if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
		return sent, 0, nil, fmt.Errorf("SIGHUP to slipway (pid %d): %w", old, err)
	}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-readyc:
	case <-timer.C:
		return sent, 0, nil, fmt.Errorf("no new slipway ready %s after SIGHUP (log: %s)", startTimeout, s.logPath)
	case <-ctx.Done():
		return sent, 0, nil, ctx.Err()
	}
	ready = time.Since(sent)
	done = func() error {
		data, _ := os.ReadFile(filepath.Join(s.data, "slipway.pid"))
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid == old {
			return fmt.Errorf("after the upgrade slipway.pid names %q, not a new process", data)
		}
		s.mu.Lock()
		s.pid = pid
		s.mu.Unlock()
		if err := waitGone(ctx, old, stopTimeout); err != nil {
			return fmt.Errorf("the old slipway (pid %d) did not exit after handing over", old)
		}
		return nil
	}
	return sent, ready, done, nil
}

// kill9 kills the serving slipway with SIGKILL, waits until it is gone
// and starts a new one on the same data dir and addresses. It returns when
// it started the new one and how long that took to be ready.
func (s *server) kill9(ctx context.Context) (started time.Time, ready time.Duration, err error) {
	s.mu.Lock()
	pid, cmd, waited := s.pid, s.cmd, s.waited
	s.mu.Unlock()
	syscall.Kill(pid, syscall.SIGKILL)
	if pid == cmd.Process.Pid {
		<-waited // the kernel tells the parent once every thread is gone
	} else if err := waitGone(ctx, pid, stopTimeout); err != nil {
		return started, 0, fmt.Errorf("slipway (pid %d) did not die of SIGKILL", pid)
	}
	started = time.Now()
	if err := s.start(ctx); err != nil {
		return started, 0, err
	}
	return started, time.Since(started), nil
}

// stop sends SIGTERM to the serving slipway, by its pid, and waits for it
// to exit (it stops its apps first); it kills it after stopTimeout.
func (s *server) stop() error {
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
		return nil
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-waited:
		return nil
	case <-t.C:
		cmd.Process.Kill()
		<-waited
		return fmt.Errorf("slipway did not stop within %s of SIGTERM and was killed (log: %s)", stopTimeout, s.logPath)
	}
}

// logLines returns the lines of slipway's log that contain any of words.
func (s *server) logLines(words ...string) []string {
	s.mu.Lock()
	data, err := os.ReadFile(s.logPath)
	s.mu.Unlock()
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

// waitGone waits until process pid is gone or a zombie.
func waitGone(ctx context.Context, pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still runs", pid)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// processAlive reports whether any thread of pid runs: its leader may be
// a zombie while other threads still exit.
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
