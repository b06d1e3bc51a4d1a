package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slipway/slipway"
)

// Spec says how to start one long-running process.
type Spec struct {
	// ID names the process in logs: "web.1", "release.1", "cron.2".
	ID string
	// Command is run with /bin/sh -c.
	Command string
	// Dir is the working directory.
	Dir string
	// Env is the whole environment but TMPDIR (see Env).
	Env []string
	// TmpDir names the process's TMPDIR: a fresh directory next to it,
	// with its name as prefix, is made for each start (mode 0700) and
	// removed when the process is stopped.
	TmpDir string
	// LogPath is the file that gets the process's raw output: the
	// process writes it itself, so it outlives slipway.
	LogPath string
	// AppLog, when set, also gets every line, prefixed with the time, ID
	// and Release.
	AppLog  *AppLog
	Release string
	// Sandbox, when set, confines the process (see Sandbox); nil runs it
	// as slipway itself.
	Sandbox *Sandbox
	// StopSignal, when set, is what Stop sends the process alone (not its
	// group) to end it: a server that stops its own children in order, as
	// PostgreSQL does on SIGINT (its fast shutdown). The group gets SIGKILL
	// after the grace as always. Zero: SIGTERM to the whole group.
	StopSignal syscall.Signal
	// Image, when set, runs the process from an unpacked image with runc
	// (see ImageRun), instead of Command in Dir.
	Image *ImageRun
	// Stdio, when set, is the process's standard streams instead of
	// /dev/null and LogPath: the process then writes no log file, and the
	// caller copies its output where it goes (into LogPath, for AppLog to
	// get it). nil: its output goes to LogPath.
	Stdio *Stdio
}

// Stdio is what a process started with Spec.Stdio reads and writes. A nil
// stream is /dev/null.
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
	// Terminal says the streams are a terminal (the far end of a pty),
	// which becomes the process's controlling terminal: the pty's size
	// changes are the process's SIGWINCH. An image's container gets a
	// terminal of its own, which runc copies to and from this one and
	// resizes with it (the container's process.terminal, as `docker run
	// -t`); without Terminal, runc passes the streams through pipes.
	Terminal bool
}

// Process is one started process. It owns its process group: Stop ends
// every process the command started.
type Process struct {
	id      string
	pid     int
	cmd     *exec.Cmd // nil for an adopted process, which is not slipway's child
	group   *group    // its cgroup, when it has one, until it is removed
	cgroup  string    // the cgroup's name, for a later slipway
	oom     bool      // the kernel killed one of its processes for memory
	limit   int64     // the memory limit it had
	ticks   uint64    // its start time (StartTicks)
	tmpDir  string
	logPath string
	started time.Time
	exited  chan struct{} // closed when the process has exited
	err     error         // the exit status, valid after exited is closed

	mu   sync.Mutex
	tail *tailer // copies its log file into the app log; nil once stopped
	spec Spec    // what it was started from, for a tailer started again

	killedInit atomic.Bool // Stop sent SIGKILL to its container's init (an image's)
}

// Start runs s.Command with /bin/sh in a session of its own. Its output
// goes to s.LogPath (or s.Stdio) and, line by line and prefixed, to
// s.AppLog.
func Start(s Spec) (*Process, error) {
	tmp, err := makeTmp(s.TmpDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(s.LogPath), 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	logf, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	st, err := logf.Stat()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	var l *launch
	if s.Image != nil {
		l, err = startImage(s, tmp, s.Stdio != nil && s.Stdio.Terminal)
	} else if l, err = command(context.Background(), s.Sandbox, tmp, []string{"/bin/sh", "-c", s.Command}); err == nil {
		l.cmd.Dir = s.Dir
		l.setEnv(append(s.Env[:len(s.Env):len(s.Env)], "TMPDIR="+tmp))
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	cmd := l.cmd
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session, not only its own group: nothing slipway's terminal
	// or service manager sends slipway's group reaches it.
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Setsid = false, true
	if io := s.Stdio; io != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
		// Set only when not nil: a nil *os.File would close the descriptor.
		if io.Stdin != nil {
			cmd.Stdin = io.Stdin
		}
		if io.Stdout != nil {
			cmd.Stdout = io.Stdout
		}
		if io.Stderr != nil {
			cmd.Stderr = io.Stderr
		}
		if io.Terminal {
			cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0 // the child's stdin
		}
	}
	if err := cmd.Start(); err != nil {
		l.abort()
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start %s: %w", s.ID, err)
	}
	p := &Process{id: s.ID, pid: cmd.Process.Pid, cmd: cmd, group: l.group, tmpDir: tmp, logPath: s.LogPath,
		started: time.Now(), exited: make(chan struct{}), spec: s}
	if l.group != nil {
		p.cgroup = l.group.name
	}
	p.ticks = StartTicks(p.pid)
	p.tail = startTail(s, st.Size())
	if err := l.started(); err != nil {
		cmd.Wait()
		close(p.exited)
		p.Stop(0)
		return nil, fmt.Errorf("start %s: %w", s.ID, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Running names a process an earlier slipway started, as it recorded it.
type Running struct {
	PID int
	// StartTicks is the process's start time: with PID it names the
	// process, never a later one that got the same pid.
	StartTicks uint64
	// Cgroup is the name of its cgroup, "" when it has none.
	Cgroup string
	// TmpDir is its TMPDIR.
	TmpDir string
	// LogOffset is how much of its log file is in the app log already;
	// -1 when that is not known (a slipway that died): the copy starts at
	// the end, so no line is copied twice.
	LogOffset int64
}

// ErrGone is Adopt's error for a process that no longer runs.
var ErrGone = errors.New("the process is gone")

// errExitUnknown is the exit status of an adopted process: only its
// parent, an earlier slipway or init, hears it.
var errExitUnknown = errors.New("exit status unknown")

// Adopt takes back r, a process started from s by an earlier slipway
// (before a restart, an upgrade or a crash), when it still runs: it is
// then stopped, watched and logged as if this slipway had started it.
// ErrGone when it has exited or its pid names another process now.
func Adopt(s Spec, r Running) (*Process, error) {
	if r.PID <= 1 || r.StartTicks == 0 {
		return nil, ErrGone
	}
	fd, err := unix.PidfdOpen(r.PID, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, ErrGone
	}
	pidfd := os.NewFile(uintptr(fd), "pidfd")
	// Checked once the pidfd holds the pid: it cannot be recycled now.
	if st, ok := procStat(r.PID); !ok || st.start != r.StartTicks || st.state == 'Z' {
		pidfd.Close()
		return nil, ErrGone
	}
	p := &Process{id: s.ID, pid: r.PID, ticks: r.StartTicks, tmpDir: r.TmpDir, logPath: s.LogPath,
		started: startTime(r.StartTicks), exited: make(chan struct{}), spec: s, cgroup: r.Cgroup}
	if r.Cgroup != "" && cgroupsAvailable() {
		var l Limits
		if s.Sandbox != nil {
			l = s.Sandbox.Limits
		}
		if g, err := loadGroup(r.Cgroup, l); err == nil {
			p.group = g
		}
	}
	var size int64
	if st, err := os.Stat(s.LogPath); err == nil {
		size = st.Size()
	}
	offset := r.LogOffset
	switch {
	case offset < 0: // not known: from the end, so no line is copied twice
		offset = size
	case offset > size: // emptied since
		offset = 0
	}
	p.tail = startTail(s, offset)
	go func() {
		defer pidfd.Close()
		if rc, err := pidfd.SyscallConn(); err == nil {
			// Readable once the process has exited.
			rc.Read(func(fd uintptr) bool {
				n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
				return n > 0
			})
		}
		p.err = errExitUnknown
		close(p.exited)
	}()
	return p, nil
}

// ID returns the process's name.
func (p *Process) ID() string { return p.id }

// PID returns the process id of the shell that leads the group.
func (p *Process) PID() int { return p.pid }

// Running returns what a later slipway needs to adopt the process.
func (p *Process) Running() Running {
	r := Running{PID: p.pid, StartTicks: p.ticks, Cgroup: p.cgroup, TmpDir: p.tmpDir}
	p.mu.Lock()
	if p.tail != nil {
		r.LogOffset = p.tail.offset()
	}
	p.mu.Unlock()
	return r
}

// Detach stops copying the process's output into the app log, leaving it
// running for a later slipway to adopt; LogOffset then says how far the
// copy went. Resume starts the copy again.
func (p *Process) Detach() {
	p.mu.Lock()
	t := p.tail
	p.mu.Unlock()
	if t != nil {
		t.stop()
	}
}

// Resume undoes Detach.
func (p *Process) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tail != nil && p.tail.stopped() {
		p.tail = startTail(p.spec, p.tail.offset())
	}
}

// Started returns when the process started.
func (p *Process) Started() time.Time { return p.started }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err returns how the process exited; valid once Exited is closed.
func (p *Process) Err() error { return p.err }

// Alive reports whether the process has not exited yet.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM to the process group (or Spec.StopSignal to the
// process), waits up to grace for the process to exit, then sends SIGKILL
// to the group, so nothing the command started is left behind. It removes
// the process's TMPDIR.
func (p *Process) Stop(grace time.Duration) {
	defer os.RemoveAll(p.tmpDir)
	defer p.endGroup()
	defer p.endImage() // before its cgroup goes: the container's is inside
	defer p.endTail()
	pgid := -p.pid
	if !p.Alive() {
		syscall.Kill(pgid, syscall.SIGKILL) // children the shell left behind
		p.endImage()
		p.endGroup() // and those that left the process group
		return
	}
	if p.spec.StopSignal != 0 {
		syscall.Kill(p.pid, p.spec.StopSignal)
		p.signalImage(p.spec.StopSignal)
	} else {
		syscall.Kill(pgid, syscall.SIGTERM)
		p.signalImage(syscall.SIGTERM)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
		syscall.Kill(pgid, syscall.SIGKILL)
	case <-t.C:
		syscall.Kill(pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// endTail copies the last of the process's output into the app log and
// stops the copy.
func (p *Process) endTail() {
	p.mu.Lock()
	t := p.tail
	p.mu.Unlock()
	if t != nil {
		t.stop()
		t.flush()
	}
}

// endGroup ends every process left in the cgroup (whatever detached from
// the process group) and removes it, remembering whether the kernel
// killed one for memory.
func (p *Process) endGroup() {
	if p.group == nil {
		return
	}
	p.oom = p.oom || p.group.oomKills() > 0 || p.imageOOM()
	p.limit = p.group.limits.Memory
	p.group.delete()
	p.group = nil
}

// ExitText describes how the process ended, for a pusher or a log line:
// "exited with status 3", "was stopped by a signal (killed)", or "was
// killed: out of memory (limit 512M)".
func (p *Process) ExitText() string {
	if p.group != nil && (p.group.oomKills() > 0 || p.imageOOM()) {
		return "was killed: out of memory (limit " + slipway.FormatBytes(p.group.limits.Memory) + ")"
	}
	if p.oom {
		return "was killed: out of memory (limit " + slipway.FormatBytes(p.limit) + ")"
	}
	return exitText(p.err)
}

func exitText(err error) string {
	if errors.Is(err, errExitUnknown) {
		return "exited (its status went to the slipway that started it)"
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "was stopped by a signal (" + ws.Signal().String() + ")"
		}
		return fmt.Sprintf("exited with status %d", exit.ExitCode())
	}
	if err != nil {
		return "failed: " + err.Error()
	}
	return "exited with status 0"
}

// LogTail returns the last n lines of the process's output, for a pusher
// whose release failed to start.
func (p *Process) LogTail(n int) []string {
	data, err := os.ReadFile(p.logPath)
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
