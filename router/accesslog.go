package router

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Access lines: the router writes one line per request to an app into the
// app's log, in Heroku's shape (see appendAccessLine):
//
//	router: method=GET path=/ host=shop.example.com status=200 bytes=1532 service=3ms release=v4 instance=web.2 pinned=yes
//
// The request path only fills a small fixed struct (accessEntry: strings
// the request already holds, numbers) and hands it to a bounded queue with
// a send that never waits; the AccessLog's own goroutine formats the line
// and writes it. A full queue drops the line and counts it (Dropped): a
// slow disk or a flood slows no request.

// DefaultAccessQueue is how many access lines may wait for the writer
// when AccessLogConfig.Queue is zero: a burst of some thousand requests
// while the disk is slow.
const DefaultAccessQueue = 4096

// AccessLogConfig configures an AccessLog.
type AccessLogConfig struct {
	// Write appends access lines of app (each without a newline) to
	// app's log, in the order of their requests. It runs on the
	// AccessLog's goroutine, one call at a time, with the lines of up to
	// maxAccessBatch requests queued meanwhile (one write for many under
	// load), and must not keep lines, which are reused.
	Write func(app string, lines [][]byte)
	// Queue is how many lines may wait for Write; a request that finds
	// the queue full drops its line (see Dropped). If zero,
	// DefaultAccessQueue is used.
	Queue int
}

// AccessLog writes the router's access lines. Give it to one Router in
// Config.AccessLog; Start starts its goroutine and Shutdown stops it,
// after the servers that call the router have stopped. Its methods are
// safe for concurrent use.
type AccessLog struct {
	write   func(app string, lines [][]byte)
	queue   chan accessEntry
	dropped atomic.Uint64
	// known, set by the Router it serves, reports whether an app still
	// exists when its line is written: a line queued while the app was
	// being destroyed must not make its log, and directory, again.
	known atomic.Pointer[func(app string) bool]

	startOnce, stopOnce sync.Once
	started             atomic.Bool
	stop, done          chan struct{}
}

// NewAccessLog returns an AccessLog for cfg, not started.
func NewAccessLog(cfg AccessLogConfig) *AccessLog {
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultAccessQueue
	}
	return &AccessLog{write: cfg.Write, queue: make(chan accessEntry, cfg.Queue),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Start starts the goroutine that writes the queued lines. Lines queued
// before Start wait for it (or are dropped once the queue is full).
func (l *AccessLog) Start() {
	l.startOnce.Do(func() {
		l.started.Store(true)
		go l.run()
	})
}

// Shutdown writes the lines queued so far and stops the goroutine, or
// gives up when ctx is done. Lines the router hands it afterwards wait
// in the queue, never written, until it is full; then they are dropped.
func (l *AccessLog) Shutdown(ctx context.Context) error {
	l.stopOnce.Do(func() { close(l.stop) })
	if !l.started.Load() {
		return nil
	}
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dropped returns how many lines were dropped because the queue was full.
func (l *AccessLog) Dropped() uint64 { return l.dropped.Load() }

// add queues e's line, or drops it when the queue is full. It never
// waits and does not allocate: the channel holds entries by value.
func (l *AccessLog) add(e *accessEntry) {
	select {
	case l.queue <- *e:
	default:
		l.dropped.Add(1)
	}
}

// maxAccessBatch is how many queued lines the writer takes at once.
const maxAccessBatch = 128

func (l *AccessLog) run() {
	defer close(l.done)
	w := &accessWriter{l: l}
	for {
		select {
		case e := <-l.queue:
			w.batch = append(w.batch[:0], e)
			w.take(maxAccessBatch)
			w.emit()
		case <-l.stop:
			for {
				w.batch = w.batch[:0]
				if w.take(maxAccessBatch); len(w.batch) == 0 {
					return
				}
				w.emit()
			}
		}
	}
}

// accessWriter is the writer goroutine's batch and buffers, reused.
type accessWriter struct {
	l     *AccessLog
	batch []accessEntry
	done  []bool
	buf   []byte
	ends  []int
	lines [][]byte
}

// take adds to the batch the lines queued now, up to max in all.
func (w *accessWriter) take(max int) {
	for len(w.batch) < max {
		select {
		case e := <-w.l.queue:
			w.batch = append(w.batch, e)
		default:
			return
		}
	}
}

// emit formats the batch's lines and writes them, each app's together
// in the order of its requests, skipping apps that are gone.
func (w *accessWriter) emit() {
	known := w.l.known.Load()
	w.done = w.done[:0]
	for range w.batch {
		w.done = append(w.done, false)
	}
	for i := range w.batch {
		if w.done[i] {
			continue
		}
		app := w.batch[i].app
		w.buf, w.ends = w.buf[:0], w.ends[:0]
		for j := i; j < len(w.batch); j++ {
			if w.done[j] || w.batch[j].app != app {
				continue
			}
			w.done[j] = true
			w.buf = appendAccessLine(w.buf, &w.batch[j])
			w.ends = append(w.ends, len(w.buf))
		}
		if known != nil && !(*known)(app) {
			continue // a line queued while the app was destroyed
		}
		w.lines = w.lines[:0]
		from := 0
		for _, end := range w.ends {
			w.lines = append(w.lines, w.buf[from:end])
			from = end
		}
		w.l.write(app, w.lines)
	}
}

// accessEntry is what one access line says, as the request path leaves
// it: strings the request already held (the client's are cleaned when
// formatted), numbers. It is copied into the queue whole.
type accessEntry struct {
	app, method, path, host string
	release, instance       string // "" when none
	status                  int
	bytes                   int64 // the response body bytes sent to the client
	service                 time.Duration
	pinned                  bool
	fault                   fault // why the router answered itself, if it did
}

// fault is why the router answered a request of an app itself.
type fault uint8

const (
	faultNone        fault = iota
	faultBadGateway        // no instance answered (502)
	faultUnavailable       // no instance to send it to (503)
	faultMaintenance       // maintenance:on (503)
	faultStopped           // ps:stop (503)
	faultUndeployed        // no release yet (404)
	faultBadRequest        // a target or body the router does not pass on (400)
	faultClientGone        // the client went away before an answer (499)
)

var faultNames = [...]string{"", "bad_gateway", "unavailable", "maintenance", "stopped", "undeployed", "bad_request", "client_gone"}

// statusClientGone is the status of an access line whose client went
// away before the app answered: nginx's 499, which no response carries.
const statusClientGone = 499
