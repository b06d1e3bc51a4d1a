package kubetest

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// lineStamps serves a container's log as kubelet does when asked for
// timestamps=true, sinceTime or sinceSeconds: each line with its time
// (RFC 3339, ns) before it, the same at every read, the lines before
// the time asked left out. A kubelet has each line's time from the
// container runtime; this node's containers write their log files
// themselves, so a line's time is when the node first read it: sweep
// reads every log file every 100 ms, so that is at most 100 ms after
// the line was printed, whether anyone asks for the log or not. These
// reads serve whole lines only: a line not ended yet waits for its
// newline.
type lineStamps struct {
	mu    sync.Mutex
	files map[string]*stampedFile
}

type stampedFile struct {
	off   int64       // bytes stamped: whole lines
	ends  []int64     // each line's end
	times []time.Time // each line's time, increasing
}

type stampedLine struct {
	at   time.Time
	text []byte // with its newline
}

func newLineStamps() *lineStamps { return &lineStamps{files: map[string]*stampedFile{}} }

// sweep stamps the lines of the files files returns every 100 ms, until
// stop is closed.
func (ls *lineStamps) sweep(stop <-chan struct{}, files func() []string) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for _, f := range files() {
			ls.stampNew(f)
		}
	}
}

// stampNew stamps the whole lines appended to file since it last did.
func (ls *lineStamps) stampNew(file string) {
	fh, err := os.Open(file)
	if err != nil {
		return
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	f := ls.file(file, st.Size())
	if st.Size() == f.off {
		return
	}
	data := make([]byte, st.Size()-f.off)
	n, _ := fh.ReadAt(data, f.off)
	f.stamp(data[:n])
}

// lines reads file and returns its whole lines with their times,
// stamping those not stamped yet with now.
func (ls *lineStamps) lines(file string) []stampedLine {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	f := ls.file(file, int64(len(data)))
	f.stamp(data[f.off:])
	out := make([]stampedLine, len(f.times))
	var from int64
	for i, end := range f.ends {
		out[i] = stampedLine{at: f.times[i], text: data[from:end]}
		from = end
	}
	return out
}

// file returns what is stamped of file, size bytes long now; ls.mu held.
func (ls *lineStamps) file(file string, size int64) *stampedFile {
	f := ls.files[file]
	if f == nil || size < f.off { // new, or emptied
		f = &stampedFile{}
		ls.files[file] = f
	}
	return f
}

// stamp stamps the whole lines of data, what follows f.off, with now.
func (f *stampedFile) stamp(data []byte) {
	now := time.Now().UTC()
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return
		}
		at := now
		if n := len(f.times); n > 0 && !at.After(f.times[n-1]) {
			at = f.times[n-1].Add(time.Nanosecond) // lines read at once keep their order
		}
		f.off += int64(i) + 1
		f.ends = append(f.ends, f.off)
		f.times = append(f.times, at)
		data = data[i+1:]
	}
}

// serve answers a log request with stamps (see lineStamps): tailLines
// and follow as the plain one; written is closed once all that the
// container running when it came wrote is in the file.
func (ls *lineStamps) serve(w http.ResponseWriter, r *http.Request, file string, written <-chan struct{}) {
	q := r.URL.Query()
	var since time.Time
	if s := q.Get("sinceTime"); s != "" {
		since, _ = time.Parse(time.RFC3339, s)
	}
	if s := q.Get("sinceSeconds"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			since = time.Now().Add(-time.Duration(n) * time.Second)
		}
	}
	stamps := q.Get("timestamps") == "true"
	write := func(lines []stampedLine) {
		for _, l := range lines {
			if l.at.Before(since) {
				continue
			}
			if stamps {
				w.Write([]byte(l.at.Format(time.RFC3339Nano) + " "))
			}
			w.Write(l.text)
		}
	}
	lines := ls.lines(file)
	sent := len(lines)
	if s := q.Get("tailLines"); s != "" {
		if k, err := strconv.Atoi(s); err == nil && k >= 0 {
			lines = lines[max(0, len(lines)-k):]
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	write(lines)
	if q.Get("follow") != "true" || written == nil {
		return
	}
	http.NewResponseController(w).Flush()
	untilWritten(w, r, written, func() bool {
		lines := ls.lines(file)
		if len(lines) <= sent {
			return false
		}
		write(lines[sent:])
		sent = len(lines)
		return true
	})
}
