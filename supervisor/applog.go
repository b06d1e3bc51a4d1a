package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// appLogMax is the size at which an app's log is rotated to app.log.1.
const appLogMax = 16 << 20

// AppLog is one app's log: the output of all its processes, one line per
// line of output, prefixed with the time, the instance and the release,
// the way Heroku's log stream reads:
//
//	2026-11-27T08:30:01.123Z web.1 v3: listening on :5000
type AppLog struct {
	path string

	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewAppLog returns the log kept in path; the file is opened on the first
// line.
func NewAppLog(path string) *AppLog { return &AppLog{path: path} }

// Line appends one line of output of process id (e.g. "web.1") of release.
func (l *AppLog) Line(id, release string, text []byte) {
	var b bytes.Buffer
	b.WriteString(time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteByte(' ')
	b.WriteString(id)
	b.WriteByte(' ')
	b.WriteString(release)
	b.WriteString(": ")
	b.Write(bytes.TrimRight(text, "\r\n"))
	b.WriteByte('\n')
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

// copyLines reads r line by line until EOF, writing each line raw to raw
// and prefixed to the app log, if any. Over-long lines are cut at 64 KiB.
func copyLines(r io.Reader, raw io.Writer, log *AppLog, id, release string) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			raw.Write(line)
			if line[len(line)-1] != '\n' && !errors.Is(err, bufio.ErrBufferFull) {
				raw.Write([]byte{'\n'})
			}
			if log != nil {
				log.Line(id, release, line)
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// LogOptions selects what Logs prints.
type LogOptions struct {
	Lines   int    // the last Lines lines (default 100)
	Process string // only this process type ("web") or instance ("web.1")
	Follow  bool   // keep printing new lines until ctx is done
}

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
		_, rest, _ := strings.Cut(line, " ")
		id, _, _ := strings.Cut(rest, " ")
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
