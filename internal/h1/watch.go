// The disconnect watch: the connection's timer, which starts it for a
// request still running after disconnectWatchAfter, and the watch itself, a
// background read that cancels the request when the client goes away.

package h1

import (
	"errors"
	"net"
	"sync"
	"time"
)

// watcher is a request being served that the disconnect watch may watch:
// a *response or an *Exchange.
type watcher interface{ watchDisconnect() }

// armWatch starts the disconnect watch of w after disconnectWatchAfter.
func (c *conn) armWatch(w watcher) {
	now := time.Now()
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	c.watched, c.watchSince = w, now
	switch {
	case c.watchArmed: // it fires for an earlier request, and re-arms for w
	case c.watch == nil:
		c.watch = time.AfterFunc(disconnectWatchAfter, c.fireWatch)
	default:
		c.watch.Reset(disconnectWatchAfter)
	}
	c.watchArmed = true
}

// disarmWatch keeps a watch from starting for the request served.
func (c *conn) disarmWatch() {
	c.watchMu.Lock()
	c.watched = nil
	c.watchMu.Unlock()
}

// dropWatch stops the timer and lets it go: an idle connection keeps none.
func (c *conn) dropWatch() {
	c.watchMu.Lock()
	if c.watch != nil {
		c.watch.Stop()
		c.watch = nil
	}
	c.watched, c.watchArmed = nil, false
	c.watchMu.Unlock()
}

func (c *conn) fireWatch() {
	c.watchMu.Lock()
	w := c.watched
	// (A watched request has the timer armWatch made: dropWatch forgets both.)
	if wait := disconnectWatchAfter - time.Since(c.watchSince); w != nil && wait > 0 {
		c.watch.Reset(wait) // armed by an earlier request
		c.watchMu.Unlock()
		return
	}
	c.watched, c.watchArmed = nil, false // a watch starts once a request
	c.watchMu.Unlock()
	if w != nil {
		w.watchDisconnect()
	}
}

// watchDisconnect runs once a request has taken disconnectWatchAfter: it
// reads the connection in the background, as http.Server does for every
// request, and cancels the request's context when the client goes away.
// A byte that arrives meanwhile (a pipelined request) is kept for the
// next request.
func (w *response) watchDisconnect() {
	w.watch.mu.Lock()
	defer w.watch.mu.Unlock()
	if !w.body.done() {
		return // the handler still reads the body (it reads c.br): not now
	}
	w.watch.start(w.conn, w.cancel)
}

// stopWatching ends a disconnect watch, if one runs, and keeps what it
// read for the next request.
func (w *response) stopWatching() { w.watch.stop(w.conn) }

// watchState is the disconnect watch of one request (see
// response.watchDisconnect).
type watchState struct {
	mu       sync.Mutex
	off      bool          // the handler is done or took the connection: no watch starts
	watching bool          // a disconnect watch reads the connection
	end      chan struct{} // closed when that read returned
	got      int           // bytes it read (0 or 1), to hand to the next request
	b        [1]byte
}

// start starts the watch, with s.mu held, unless it is off or a next
// request is buffered already; cancel runs if the client goes away.
func (s *watchState) start(c *conn, cancel func()) {
	if s.off || c.br.Buffered() > 0 {
		return
	}
	s.watching = true
	s.end = make(chan struct{})
	go func() {
		defer close(s.end)
		n, err := c.rwc.Read(s.b[:])
		s.got = n
		if n == 0 && err != nil && !isTimeout(err) {
			cancel()
		}
	}()
}

// reset readies s for the next request of a reused Exchange.
func (s *watchState) reset() {
	s.mu.Lock()
	s.off, s.watching, s.end, s.got = false, false, nil, 0
	s.mu.Unlock()
}

// stop ends the watch, if one runs, and keeps what it read for the next
// request; no watch starts after it.
func (s *watchState) stop(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.off = true
	if !s.watching {
		return
	}
	s.watching = false
	c.rwc.SetReadDeadline(aLongTimeAgo)
	<-s.end
	c.rwc.SetReadDeadline(time.Time{})
	if s.got == 1 {
		c.lr.pending = true
		c.first[0] = s.b[0]
	}
}

var aLongTimeAgo = time.Unix(1, 0)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
