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
	// Write appends one access line of app (without a newline) to app's
	// log. It runs on the AccessLog's goroutine, one call at a time, and
	// must not keep line, which is reused.
	Write func(app string, line []byte)
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
	write   func(app string, line []byte)
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

func (l *AccessLog) run() {
	defer close(l.done)
	buf := make([]byte, 0, 1024)
	for {
		select {
		case e := <-l.queue:
			buf = l.emit(buf, &e)
		case <-l.stop:
			for {
				select {
				case e := <-l.queue:
					buf = l.emit(buf, &e)
				default:
					return
				}
			}
		}
	}
}

// emit formats e into buf and writes it, unless its app is gone.
func (l *AccessLog) emit(buf []byte, e *accessEntry) []byte {
	if known := l.known.Load(); known != nil && !(*known)(e.app) {
		return buf
	}
	buf = appendAccessLine(buf[:0], e)
	l.write(e.app, buf)
	return buf
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
)

var faultNames = [...]string{"", "bad_gateway", "unavailable", "maintenance", "stopped", "undeployed", "bad_request"}
