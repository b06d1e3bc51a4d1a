package releaser

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// instance is one running process of a release. It owns its process group:
// stop ends every process the command started.
type instance struct {
	id      string // process type and index: "web.1"
	port    int    // 0 for processes that are not routed
	cmd     *exec.Cmd
	tmpDir  string
	logPath string
	started time.Time
	exited  chan struct{} // closed when the process has exited
	copied  chan struct{} // closed when its output has all been logged
	err     error         // the exit status, valid after exited is closed
}

// addr is where the router reaches the instance.
func (in *instance) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(in.port)) }

// running reports whether the process has not exited yet.
func (in *instance) running() bool {
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

// startSpec is what starting one instance needs.
type startSpec struct {
	id      string
	command string
	dir     string   // the release directory, the working directory
	env     []string // complete environment but PORT and TMPDIR
	port    int
	tmpDir  string
	logPath string
	appLog  *appLog // also gets every line, prefixed
	release string  // for the app log's prefix
}

// startInstance runs command with /bin/sh in its own process group. Its
// output goes line by line to the instance's log file and, prefixed with
// time, instance and release, to the app's log.
func startInstance(s startSpec) (*instance, error) {
	if err := os.MkdirAll(s.tmpDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(s.logPath), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	defer pw.Close() // the child holds its own descriptor
	cmd := exec.Command("/bin/sh", "-c", s.command)
	cmd.Dir = s.dir
	cmd.Env = append(s.env, "TMPDIR="+s.tmpDir)
	if s.port > 0 {
		cmd.Env = append(cmd.Env, "PORT="+strconv.Itoa(s.port))
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", s.id, err)
	}
	in := &instance{id: s.id, port: s.port, cmd: cmd, tmpDir: s.tmpDir, logPath: s.logPath, started: time.Now(),
		exited: make(chan struct{}), copied: make(chan struct{})}
	go func() { // ends when every process of the group has closed its output
		defer close(in.copied)
		copyLines(pr, logf, s.appLog, s.id, s.release)
		pr.Close()
		logf.Close()
	}()
	go func() {
		in.err = cmd.Wait()
		close(in.exited)
	}()
	return in, nil
}

// stop sends SIGTERM to the instance's process group, waits up to grace for
// it to exit, then sends SIGKILL. It removes the instance's TMPDIR.
func (in *instance) stop(grace time.Duration) {
	if in.cmd.Process == nil {
		return
	}
	pgid := -in.cmd.Process.Pid
	if !in.running() {
		syscall.Kill(pgid, syscall.SIGKILL) // children the shell left behind
		return
	}
	syscall.Kill(pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-in.exited:
		syscall.Kill(pgid, syscall.SIGKILL)
	case <-t.C:
		syscall.Kill(pgid, syscall.SIGKILL)
		<-in.exited
	}
	in.waitCopied()
}

// waitCopied waits, briefly, for the instance's last output to be logged.
// A process that left the process group may hold the pipe open for longer;
// its copier then ends with it.
func (in *instance) waitCopied() {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-in.copied:
	case <-t.C:
	}
}

// exitText describes how the process ended, for a pusher.
func (in *instance) exitText() string {
	var exit *exec.ExitError
	if errors.As(in.err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "was stopped by a signal (" + ws.Signal().String() + ")"
		}
		return fmt.Sprintf("exited with status %d", exit.ExitCode())
	}
	if in.err != nil {
		return "failed: " + in.err.Error()
	}
	return "exited with status 0"
}

// logTail returns the last n lines of the instance's log, for a pusher
// whose release failed to start.
func (in *instance) logTail(n int) []string {
	if !in.running() {
		in.waitCopied()
	}
	data, err := os.ReadFile(in.logPath)
	if err != nil {
		return nil
	}
	if len(data) > 64<<10 {
		data = data[len(data)-64<<10:]
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

// Instance ports come from below Linux's default ephemeral range
// (32768-60999), so that the kernel does not hand the port an instance is
// about to bind to an outgoing connection in between (the router's own
// connections to instances use ephemeral ports).
const (
	portMin = 20000
	portMax = 32767
)

// freePort returns a loopback port in [portMin, portMax] that nothing
// listens on, starting the search at a random place. Another process could
// still take it before the instance binds it; the health check then fails
// and the deploy is refused, which is safe.
func freePort() (int, error) {
	start := portMin + rand.IntN(portMax-portMin+1)
	for i := 0; i <= portMax-portMin; i++ {
		p := portMin + (start-portMin+i)%(portMax-portMin+1)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ln.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free port between %d and %d", portMin, portMax)
}
