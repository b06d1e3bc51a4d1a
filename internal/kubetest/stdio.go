package kubetest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/creack/pty"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"github.com/slipway/slipway/supervisor"
)

// stdio holds the standard streams of one start of a container whose
// spec has stdin or tty, as a container runtime holds them for attach:
// a pipe for each stream, or a pty for tty (the container gets a terminal
// of its own that runc copies to and from it). Everything the container
// writes goes to its log file, attached or not, and to the sessions
// attached at the time: a session gets what is written after it attached,
// nothing before, as with kubelet. Each session is written by a goroutine
// of its own, so that a client that does not read stalls neither the
// container nor its log (containerd's would): one that falls
// sessionBacklog behind is detached.
type stdio struct {
	tty, once bool // the spec's tty and stdinOnce
	hasStdin  bool // the spec's stdin: sessions' input reaches the container
	log       *os.File
	master    *os.File // tty: the pty's master, which sessions write and resize
	slave     *os.File // tty: runc's stdin, stdout and stderr, held until it exits
	stdin     *os.File // no tty: the write end of the container's stdin
	child     []*os.File
	copies    sync.WaitGroup
	done      chan struct{} // closed once all the container wrote is copied

	mu       sync.Mutex
	sessions map[*session]bool // nil once the streams ended
}

// sessionBacklog is how much of the container's output a session may have
// yet to write before it is detached.
const sessionBacklog = 4 << 20

// session is one attach's output: what is yet to be written to it.
type session struct {
	stdout, stderr io.Writer     // nil when not asked for
	queue          chan chunk    // closed by leave or finish, under the stdio's mu
	backlog        int           // bytes in queue, under the stdio's mu
	written        chan struct{} // closed once the queue is written, or a write failed
	err            error         // why it was detached, read once written is closed
}

// chunk is a piece of the container's output.
type chunk struct {
	data   []byte
	stderr bool
}

// newStdio makes the streams of a start of container cs, whose output
// also goes to logPath, and returns them with what the supervisor gives
// the container.
func newStdio(cs corev1.Container, logPath string) (*stdio, *supervisor.Stdio, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, nil, err
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	s := &stdio{tty: cs.TTY, once: cs.StdinOnce, hasStdin: cs.Stdin, log: log, done: make(chan struct{}),
		sessions: map[*session]bool{}}
	if cs.TTY {
		if s.master, s.slave, err = pty.Open(); err != nil {
			log.Close()
			return nil, nil, err
		}
		return s, &supervisor.Stdio{Stdin: s.slave, Stdout: s.slave, Stderr: s.slave, Terminal: true}, nil
	}
	var files [6]*os.File // stdin, stdout, stderr: read end, write end
	for i := 0; i < 6; i += 2 {
		if files[i], files[i+1], err = os.Pipe(); err != nil {
			for _, f := range files {
				if f != nil {
					f.Close()
				}
			}
			log.Close()
			return nil, nil, err
		}
	}
	s.stdin = files[1]
	s.child = []*os.File{files[0], files[3], files[5]}
	s.copies.Add(2)
	go s.copyOut(files[2], false)
	go s.copyOut(files[4], true)
	return s, &supervisor.Stdio{Stdin: files[0], Stdout: files[3], Stderr: files[5]}, nil
}

// started closes the container's ends of the pipes, which it holds now,
// and starts copying a terminal's output. On a failed start it ends the
// streams.
func (s *stdio) started(ok bool) {
	for _, f := range s.child {
		f.Close()
	}
	if s.tty {
		s.copies.Add(1)
		go s.copyOut(s.master, false)
	}
	if !ok {
		s.finish()
	}
}

// finish ends the streams once the container's processes are all gone:
// the rest of the output is copied, the sessions are told, and the files
// are closed.
func (s *stdio) finish() {
	if s.slave != nil {
		s.slave.Close() // the terminal's last far end: the copy reads the rest, then EIO
	}
	s.copies.Wait()
	close(s.done)
	s.mu.Lock()
	for ss := range s.sessions {
		close(ss.queue) // what is queued is still written
	}
	s.sessions = nil
	s.mu.Unlock()
	for _, f := range []*os.File{s.master, s.stdin, s.log} {
		if f != nil {
			f.Close()
		}
	}
}

// copyOut copies one of the container's output streams into its log and
// to the sessions attached, until it ends.
func (s *stdio) copyOut(r *os.File, stderr bool) {
	defer s.copies.Done()
	defer func() {
		if r != s.master {
			r.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.log.Write(buf[:n])
			s.send(chunk{data: buf[:n], stderr: stderr})
		}
		if err != nil {
			return // EOF, or EIO from a terminal whose far end is closed
		}
	}
}

// send queues c for each session that asked for its stream, detaching
// those too far behind.
func (s *stdio) send(c chunk) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var data []byte
	for ss := range s.sessions {
		if c.stderr && ss.stderr == nil || !c.stderr && ss.stdout == nil {
			continue
		}
		if ss.backlog+len(c.data) > sessionBacklog || len(ss.queue) == cap(ss.queue) {
			ss.err = errBehind
			s.leaveLocked(ss)
			continue
		}
		if data == nil {
			data = append([]byte(nil), c.data...)
		}
		ss.backlog += len(data)
		ss.queue <- chunk{data: data, stderr: c.stderr}
	}
}

// write writes a session's queue to its client until the queue is closed
// and written, or a write fails.
func (s *stdio) write(ss *session) {
	defer close(ss.written)
	for c := range ss.queue {
		w := ss.stdout
		if c.stderr {
			w = ss.stderr
		}
		if _, err := w.Write(c.data); err != nil {
			s.leave(ss)
			for range ss.queue { // closed by leave
			}
			return
		}
		s.mu.Lock()
		ss.backlog -= len(c.data)
		s.mu.Unlock()
	}
}

// leave detaches session ss: nothing more is queued for it.
func (s *stdio) leave(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaveLocked(ss)
}

func (s *stdio) leaveLocked(ss *session) {
	if s.sessions[ss] {
		delete(s.sessions, ss)
		close(ss.queue)
	}
}

// Errors of attach.
var (
	errEnded  = errors.New("the container is not running")
	errBehind = fmt.Errorf("detached: the client fell %d MiB behind the container's output", sessionBacklog>>20)
)

// attach copies in to the container's stdin and its output to stdout and
// stderr (nil: not asked for; stderr is never written with tty), and
// resizes its terminal, until the container's output ends and is written
// or the session leaves. As containerd does, the end of in detaches the
// session, but for a container with stdinOnce and no tty: its stdin is
// then closed for good, and the session keeps its output until the
// container's ends. A container without stdin does not read in.
func (s *stdio) attach(in io.Reader, stdout, stderr io.Writer, resize <-chan remotecommand.TerminalSize) error {
	ss := &session{stdout: stdout, stderr: stderr, queue: make(chan chunk, 1024), written: make(chan struct{})}
	if s.tty {
		ss.stderr = nil
	}
	s.mu.Lock()
	if s.sessions == nil {
		s.mu.Unlock()
		return errEnded
	}
	s.sessions[ss] = true
	s.mu.Unlock()
	go s.write(ss)
	if resize != nil && s.tty {
		go func() {
			for size := range resize { // closed as the session's stream ends
				s.setSize(size)
			}
		}()
	}
	switch {
	case in != nil && s.hasStdin:
		go s.readStdin(ss, in)
	case ss.stdout == nil && ss.stderr == nil:
		s.leave(ss) // nothing to copy either way
	}
	<-ss.written
	return ss.err
}

// readStdin copies a session's input to the container's stdin until it
// ends, then detaches the session, or, with stdinOnce and no tty, closes
// the container's stdin (and detaches a session that asked for no
// output).
func (s *stdio) readStdin(ss *session, in io.Reader) {
	if s.tty {
		io.Copy(s.master, in)
		s.leave(ss)
		return
	}
	io.Copy(s.stdin, in) // ends with the session's input, or the container's end
	if s.once {
		s.stdin.Close()
	}
	if !s.once || ss.stdout == nil && ss.stderr == nil {
		s.leave(ss)
	}
}

// setSize sets the size of the container's terminal, while it runs.
func (s *stdio) setSize(size remotecommand.TerminalSize) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions != nil { // finish closes the master once they are gone
		pty.Setsize(s.master, &pty.Winsize{Cols: size.Width, Rows: size.Height})
	}
}
