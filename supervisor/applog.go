package supervisor

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/slipway/slipway"
)

// StampLayout is how an app log's lines give their time: UTC, to the
// millisecond.
const StampLayout = "2006-01-02T15:04:05.000Z"

// appLogMax is the size at which an app's log is rotated to app.log.1.
const appLogMax = 16 << 20

// AppLog is one app's log: the output of all its processes, one line per
// line of output, prefixed with the time, the instance and the release,
// the way Heroku's log stream reads:
//
//	2026-11-27T08:30:01.123Z web.1 v3: listening on :5000
type AppLog struct {
	path string
	app  string
	sink LogSink // nil: no drains

	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewAppLog returns the log kept in path; the file is opened on the first
// line.
func NewAppLog(path string) *AppLog { return &AppLog{path: path} }

// LogSink hears every line written to an app's log, as written (time,
// process, release, text and the newline): the log drains. LogLine runs
// on the writer's path, an app's output or the router's access lines, so
// it must not block, and it must not keep line, which is reused.
type LogSink interface {
	LogLine(app string, line []byte)
}

// AppLogs is every app's log, one AppLog per app shared by all that
// write to it (the processes' output, the router's access lines), each
// line told to Sink as well. Its methods are safe for concurrent use.
type AppLogs struct {
	layout slipway.Layout
	sink   LogSink

	mu   sync.Mutex
	logs map[string]*AppLog
}

// NewAppLogs returns the logs of the apps under layout; sink, if not
// nil, hears every line.
func NewAppLogs(layout slipway.Layout, sink LogSink) *AppLogs {
	return &AppLogs{layout: layout, sink: sink, logs: map[string]*AppLog{}}
}

// For returns app's log, made on first use.
func (ls *AppLogs) For(app string) *AppLog {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.logs[app]
	if !ok {
		l = &AppLog{path: ls.layout.AppLog(app), app: app, sink: ls.sink}
		ls.logs[app] = l
	}
	return l
}

// Forget closes app's log and forgets it (the app was destroyed or
// renamed); a later For opens it again.
func (ls *AppLogs) Forget(app string) {
	ls.mu.Lock()
	l := ls.logs[app]
	delete(ls.logs, app)
	ls.mu.Unlock()
	if l != nil {
		l.Close()
	}
}

// Line appends one line of output of process id (e.g. "web.1") of
// release; with release empty, the line names the process only, as the
// router's access lines do ("router: method=GET ...").
func (l *AppLog) Line(id, release string, text []byte) {
	l.Lines(id, release, [][]byte{text})
}

// LineAt is Line with the time the line was printed instead of now:
// output that reaches slipway later than it was printed (a pod's,
// through the cluster's API) keeps its own time.
func (l *AppLog) LineAt(t time.Time, id, release string, text []byte) {
	l.lines(t, id, release, [][]byte{text})
}

// Lines appends lines of output of process id of release at once, with
// one write: the router's access lines come in batches.
func (l *AppLog) Lines(id, release string, texts [][]byte) {
	l.lines(time.Now(), id, release, texts)
}

func (l *AppLog) lines(t time.Time, id, release string, texts [][]byte) {
	stamp := t.UTC().Format(StampLayout)
	var b bytes.Buffer
	ends := make([]int, 0, len(texts))
	for _, text := range texts {
		b.WriteString(stamp)
		b.WriteByte(' ')
		b.WriteString(id)
		if release != "" {
			b.WriteByte(' ')
			b.WriteString(release)
		}
		b.WriteString(": ")
		b.Write(bytes.TrimRight(text, "\r\n"))
		b.WriteByte('\n')
		ends = append(ends, b.Len())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil || l.size > appLogMax {
		if l.f != nil {
			l.f.Close()
			os.Rename(l.path, l.path+".1")
		}
		os.MkdirAll(filepath.Dir(l.path), 0o755)
		f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return
		}
		st, _ := f.Stat()
		l.f, l.size = f, st.Size()
	}
	n, _ := l.f.Write(b.Bytes())
	l.size += int64(n)
	if l.sink != nil {
		all, from := b.Bytes(), 0
		for _, end := range ends {
			l.sink.LogLine(l.app, all[from:end])
			from = end
		}
	}
}

// Close closes the file; a later Line opens it again.
func (l *AppLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// tailEvery is how often a process's log file is copied into the app log.
const tailEvery = 100 * time.Millisecond

// rawLogMax is the size at which a process's own log file is emptied,
// once all of it is in the app log: the process writes it through a
// descriptor of its own (O_APPEND), so it cannot be renamed away.
const rawLogMax = 16 << 20

// maxLine is where an over-long line of output is cut.
const maxLine = 64 << 10

// tailer copies what a process writes to its log file into the app log,
// one prefixed line per line, from an offset on: the process writes the
// file itself, so that its output outlives slipway, and a later slipway
// goes on from where this one stopped.
type tailer struct {
	path        string
	log         *AppLog
	id, release string

	mu      sync.Mutex
	off     int64
	partial []byte // a line not ended yet
	buf     []byte // read buffer, made at the first output
	quit    chan struct{}
	done    chan struct{}
}

// startTail copies s.LogPath into s.AppLog from offset on, until stop.
func startTail(s Spec, offset int64) *tailer {
	t := &tailer{path: s.LogPath, log: s.AppLog, id: s.ID, release: s.Release, off: offset,
		quit: make(chan struct{}), done: make(chan struct{})}
	go t.run()
	return t
}

func (t *tailer) run() {
	defer close(t.done)
	tick := time.NewTicker(tailEvery)
	defer tick.Stop()
	for {
		select {
		case <-t.quit:
			t.read()
			return
		case <-tick.C:
			t.read()
		}
	}
}

// stop copies what is left and ends the copy; later calls do nothing.
func (t *tailer) stop() {
	t.mu.Lock()
	select {
	case <-t.quit:
	default:
		close(t.quit)
	}
	t.mu.Unlock()
	<-t.done
}

// stopped reports whether stop was called.
func (t *tailer) stopped() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// offset returns how much of the file is in the app log, lines not ended
// yet excluded, so a tailer started from it again loses nothing.
func (t *tailer) offset() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.off - int64(len(t.partial))
}

// flush writes a last line the process did not end.
func (t *tailer) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.partial) > 0 && t.log != nil {
		t.log.Line(t.id, t.release, t.partial)
	}
	t.partial = nil
}

// read copies the lines written since the last read.
func (t *tailer) read() {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := os.Stat(t.path)
	if err != nil || st.Size() == t.off {
		return // the usual case: nothing new, nothing opened
	}
	if st.Size() < t.off { // emptied: by slipway or by the process itself
		t.off, t.partial = 0, nil
	}
	f, err := os.Open(t.path)
	if err != nil {
		return
	}
	defer f.Close()
	if t.buf == nil {
		t.buf = make([]byte, 64<<10)
	}
	for t.off < st.Size() {
		n, err := f.ReadAt(t.buf, t.off)
		if n == 0 {
			break
		}
		t.off += int64(n)
		t.lines(t.buf[:n])
		if err != nil {
			break
		}
	}
	if t.off >= rawLogMax && len(t.partial) == 0 {
		if os.Truncate(t.path, 0) == nil {
			t.off = 0
		}
	}
}

// lines logs every line ended in data, keeping the rest for later; a line
// longer than maxLine is cut there.
func (t *tailer) lines(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			t.partial = append(t.partial, data...)
			if len(t.partial) >= maxLine {
				t.emit(t.partial[:maxLine])
				t.partial = append(t.partial[:0], t.partial[maxLine:]...)
			}
			return
		}
		line := data[:i]
		if len(t.partial) > 0 {
			line = append(t.partial, line...)
			t.partial = nil
		}
		t.emit(line)
		data = data[i+1:]
	}
}

func (t *tailer) emit(line []byte) {
	if t.log == nil {
		return
	}
	for len(line) > maxLine {
		t.log.Line(t.id, t.release, line[:maxLine])
		line = line[maxLine:]
	}
	t.log.Line(t.id, t.release, line)
}

// LogOptions selects what Logs prints (slipway.LogOptions).
type LogOptions = slipway.LogOptions

// Tail writes the app log kept in path to out: the last lines, then, with
// Follow, new lines as they come, across deploys, until ctx is done.
func Tail(ctx context.Context, path string, opt LogOptions, out io.Writer) error {
	if opt.Lines <= 0 {
		opt.Lines = 100
	}
	keep := func(line string) bool {
		if opt.Process == "" {
			return true
		}
		// The word after the time names the process: "web.1" before its
		// release, "router:" alone for the router's access lines.
		_, rest, _ := strings.Cut(line, " ")
		id, _, _ := strings.Cut(rest, " ")
		id = strings.TrimSuffix(id, ":")
		return id == opt.Process || strings.HasPrefix(id, opt.Process+".")
	}
	data, _ := os.ReadFile(path)
	var lines []string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l != "" && keep(l) {
			lines = append(lines, l)
		}
	}
	if len(lines) > opt.Lines {
		lines = lines[len(lines)-opt.Lines:]
	}
	for _, l := range lines {
		if _, err := io.WriteString(out, l); err != nil {
			return nil
		}
	}
	if !opt.Follow {
		return nil
	}
	return follow(ctx, path, int64(len(data)), keep, out)
}

// follow prints lines appended to path after offset until ctx is done,
// reopening the file when it is rotated.
func follow(ctx context.Context, path string, offset int64, keep func(string) bool, out io.Writer) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	var partial string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		if st.Size() < offset { // rotated
			offset = 0
		}
		if st.Size() == offset {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		buf := make([]byte, st.Size()-offset)
		n, _ := f.ReadAt(buf, offset)
		f.Close()
		offset += int64(n)
		text := partial + string(buf[:n])
		parts := strings.SplitAfter(text, "\n")
		partial = parts[len(parts)-1]
		for _, l := range parts[:len(parts)-1] {
			if keep(l) {
				if _, err := io.WriteString(out, l); err != nil {
					return nil
				}
			}
		}
	}
}
