package builder

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// indent starts every line of a build command's output, as on Heroku, so
// the user can tell it from slipway's own "----->" step headers.
const indent = "       "

// stream writes build output to the pusher's writer as it is produced.
// Writes to it never fail: when the pusher goes away the build carries on
// and the rest of its output is dropped.
type stream struct {
	mu      sync.Mutex
	w       io.Writer
	err     error // first write error of w; nothing is written after it
	lineEnd bool  // the next byte starts a line, so it gets the indent
	open    bool  // a line has been started and not ended with \n
	buf     []byte
	last    time.Time // when something was last written
}

func newStream(w io.Writer) *stream {
	if w == nil {
		w = io.Discard
	}
	return &stream{w: w, lineEnd: true}
}

// Write writes command output, indenting each line. Partial lines are
// written at once, so progress output shows up as it happens.
func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.buf[:0]
	for _, c := range p {
		if s.lineEnd && c != '\n' && c != '\r' {
			s.buf = append(s.buf, indent...)
			s.lineEnd = false
		}
		s.buf = append(s.buf, c)
		if c == '\n' || c == '\r' {
			s.lineEnd = true
		}
		s.open = c != '\n'
	}
	s.emit(s.buf)
	return len(p), nil
}

// header ends any unfinished output line and writes a step header:
// "-----> Running go build".
func (s *stream) header(format string, args ...any) {
	s.printf("-----> "+format+"\n", args...)
}

// info writes one indented line of slipway's own.
func (s *stream) info(format string, args ...any) {
	s.printf(indent+format+"\n", args...)
}

// endLine ends an output line a command left unfinished.
func (s *stream) endLine() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLineLocked()
}

func (s *stream) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLineLocked()
	s.emit(fmt.Appendf(s.buf[:0], format, args...))
}

func (s *stream) endLineLocked() {
	if s.open {
		s.emit([]byte("\n"))
	}
	s.open, s.lineEnd = false, true
}

func (s *stream) emit(p []byte) {
	if s.err != nil || len(p) == 0 {
		return
	}
	s.last = time.Now()
	_, s.err = s.w.Write(p)
}

// quietAfter is how long a build step may print nothing before slipway
// says it is still building.
var quietAfter = 10 * time.Second

// keepTalking writes "still building (Ns)…" whenever the step begun at
// start has printed nothing for quietAfter, until stop is closed: a
// first Go build or a big npm install is silent for minutes otherwise.
func (s *stream) keepTalking(start time.Time, stop <-chan struct{}) {
	tick := time.NewTicker(quietAfter / 4)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			s.mu.Lock()
			quiet := now.Sub(s.last) >= quietAfter
			s.mu.Unlock()
			if quiet {
				s.printf(indent+"still building (%s)…\n", now.Sub(start).Round(time.Second))
			}
		}
	}
}
