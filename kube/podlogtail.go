package kube

import (
	"bytes"
	"io"
	"os"
	"time"

	"github.com/slipway/slipway/supervisor"
)

// appLogTail is what the end of an app's log said when this slipway
// first followed one of the app's pods: the time of each instance's last
// line ("web.x7k2p v3"), and of the newest line of all.
type appLogTail struct {
	last   map[string]time.Time
	newest time.Time
}

// appLogTailSize is how much of the end of an app's log is read (of
// app.log.1 too when app.log is shorter): some thousands of lines.
const appLogTailSize = 256 << 10

// floor is the time of the last line of in's already in its app log, as
// far as this slipway knows when it starts following it: its followers
// drop the lines up to it. Only the lines an earlier slipway wrote count
// (those stamped before this one started). Of an instance the log's end
// has a line of, that line's (the log's times are to the millisecond: a
// line printed in the same millisecond after it is lost rather than
// written twice); of another, the log's newest line's, when the earlier
// slipway last wrote (a pod started since has all its lines followed);
// with no log, this slipway's start. Never more than podLogLookback
// before it.
func (l *podLogs) floor(in podInstanceName) time.Time {
	tail := l.tail(in.app)
	at := l.started
	if t, ok := tail.last[in.id+" "+in.release]; ok {
		at = t.Add(time.Millisecond)
	} else if !tail.newest.IsZero() {
		at = tail.newest.Add(time.Millisecond)
	}
	return maxTime(at, l.started.Add(-podLogLookback))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// tail reads the end of app's log once.
func (l *podLogs) tail(app string) *appLogTail {
	l.tailMu.Lock()
	defer l.tailMu.Unlock()
	t := l.tails[app]
	if t == nil {
		t = readAppLogTail(l.path(app), appLogTailSize, l.started)
		l.tails[app] = t
	}
	return t
}

// readAppLogTail reads the last size bytes of the app log at path (and
// of its rotated app.log.1 before it), the lines stamped before before.
func readAppLogTail(path string, size int64, before time.Time) *appLogTail {
	data := tailOf(path, size)
	if rest := size - int64(len(data)); rest > 0 {
		data = append(tailOf(path+".1", rest), data...)
	}
	t := &appLogTail{last: map[string]time.Time{}}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			break // not ended: being written
		}
		// STAMP ID RELEASE: TEXT; the router's lines (STAMP router:
		// TEXT) name no release.
		stamp, rest, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			continue
		}
		at, err := time.Parse(supervisor.StampLayout, string(stamp))
		if err != nil || !at.Before(before) {
			continue
		}
		if at.After(t.newest) {
			t.newest = at
		}
		id, rest, ok := bytes.Cut(rest, []byte(" "))
		release, _, ok2 := bytes.Cut(rest, []byte(": "))
		if !ok || !ok2 || bytes.HasSuffix(id, []byte(":")) || bytes.IndexByte(release, ' ') >= 0 {
			continue
		}
		key := string(id) + " " + string(release)
		if at.After(t.last[key]) {
			t.last[key] = at
		}
	}
	return t
}

// tailOf returns the last size bytes of the file at path, from the
// start of a line.
func tailOf(path string, size int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	from := max(0, st.Size()-size)
	data := make([]byte, st.Size()-from)
	n, _ := io.ReadFull(io.NewSectionReader(f, from, int64(len(data))), data)
	data = data[:n]
	if from > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil
		}
		data = data[i+1:]
	}
	return data
}
