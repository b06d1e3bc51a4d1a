// The connection's request loop: the wait for its next request, and the
// hand-over of that wait to a new goroutine or to the parker.

package h1

import (
	"bufio"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"
)

// handOverAfter is how long a goroutine that has served a request waits
// for the connection's next one before it hands the wait over to a new
// goroutine (see next) or parks the connection. A second: a connection a
// client reuses now and then (a pool that takes its most recent one first
// keeps its others for bursts) stays ready, its wait costing a goroutine and
// a read buffer for that second; parking and waking it again costs two
// epoll_ctl calls, a timer and a new goroutine, and adds their latency to
// its next request.
const handOverAfter = time.Second

// Outcomes of a wait for the next request.
const (
	waitGot = iota
	waitDone
	waitHandOver
)

// next serves the connection's requests. A goroutine that has served one
// holds the stack that request grew (a proxied request takes some);
// after the connection's first request, and later when no next request
// comes within handOverAfter, it hands the wait over to a new goroutine
// with a small stack and ends, so that an idle connection costs little,
// without a busy one paying for a new goroutine (and its stack growing
// again) on every request. fresh is set in such a new goroutine.
func (c *conn) next(fresh bool) {
	handedOver := false
	defer func() {
		if err := recover(); err != nil && err != http.ErrAbortHandler && c.srv.Logger != nil {
			c.srv.Logger.Error("panic serving a request", "client", c.remoteAddr, "panic", fmt.Sprint(err), "stack", string(debug.Stack()))
		}
		if !handedOver {
			c.end()
		}
	}()
	for {
		switch c.waitForRequest(fresh) {
		case waitDone:
			return
		case waitHandOver:
			handedOver = true
			c.header, c.sentHeader = nil, nil // an idle connection keeps no maps either
			c.exchange = nil
			c.dropWatch() // nor a timer
			var deadline time.Time
			if d := c.srv.IdleTimeout; d > 0 {
				deadline = c.idleSince.Add(d)
			}
			c.idle.Store(true)
			if !c.srv.park(c, deadline) {
				go c.next(true)
			}
			return
		}
		fresh = false
		if !c.serveRequest() || c.hijacked || c.srv.shutdown.Load() {
			return
		}
	}
}

// waitForRequest waits for the next request's first byte, holding no
// buffer while there is none, and gets the buffers ready. It reports
// false when the connection is done. After the first request, as
// http.Server does, a connection that ends before four more bytes
// (no request is shorter) is closed without an answer.
func (c *conn) waitForRequest(fresh bool) int {
	if got := c.waitForByte(fresh); got != waitGot {
		return got
	}
	if c.served++; c.served > 1 {
		if _, err := c.br.Peek(4); err != nil {
			return waitDone
		}
	}
	return waitGot
}

// waitForByte waits until the next request has begun to arrive; unless
// fresh, only for handOverAfter.
func (c *conn) waitForByte(fresh bool) int {
	if c.br != nil && c.br.Buffered() > 0 {
		return waitGot // a pipelined request is there already
	}
	if c.lr.pending { // a disconnect watch read the next request's first byte
		if c.br == nil {
			c.br = readers.Get().(*bufio.Reader)
			c.br.Reset(&c.lr)
		}
		return waitGot
	}
	c.idle.Store(true)
	if c.srv.shutdown.Load() {
		return waitDone
	}
	now := time.Now()
	if !fresh {
		c.idleSince = now
	}
	deadline := time.Time{}
	if d := c.srv.IdleTimeout; d > 0 {
		deadline = c.idleSince.Add(d)
	}
	if d := c.srv.ReadHeaderTimeout; d > 0 && c.served == 0 {
		deadline = c.idleSince.Add(d) // a new connection sends its request at once, as for http.Server
	}
	if !fresh && c.served == 1 {
		// After a connection's first request, hand over at once: many
		// connections make one request and wait (a browser's spares),
		// and on a burst of them the stacks would add up.
		c.idle.Store(false)
		c.release()
		return waitHandOver
	}
	if !fresh && (deadline.IsZero() || now.Add(handOverAfter).Before(deadline)) {
		// A busy connection: wait with the read buffer, so the request
		// lands in it with one read, for at most handOverAfter.
		c.releaseWriter()
		c.rwc.SetReadDeadline(now.Add(handOverAfter))
		c.drained = false
		_, err := c.br.Peek(1)
		c.idle.Store(false)
		switch {
		case err == nil:
			return waitGot
		case isTimeout(err) && !c.srv.shutdown.Load():
			c.drained = true // the read buffer was empty: the read went to the tls.Conn
			c.release()
			return waitHandOver
		}
		return waitDone
	}
	c.release()
	// Over TLS the wait is a read of the tls.Conn, for at most
	// handOverAfter when the connection could be parked: a read that
	// times out shows that nothing of a next request waits decrypted or
	// whole in the tls.Conn (it reads the socket only once it has handed
	// out all it has), so the kernel's readiness tells when one comes.
	bounded := c.tls != nil && (deadline.IsZero() || now.Add(handOverAfter).Before(deadline)) && c.srv.canPark(c)
	if bounded {
		c.rwc.SetReadDeadline(now.Add(handOverAfter))
	} else {
		c.rwc.SetReadDeadline(deadline)
	}
	c.drained = false
	n, err := c.rwc.Read(c.first[:])
	c.idle.Store(false)
	if n == 0 {
		if bounded && isTimeout(err) && !c.srv.shutdown.Load() {
			c.drained = true
			return waitHandOver
		}
		return waitDone // closed, timed out, or Shutdown closed it
	}
	c.br = readers.Get().(*bufio.Reader)
	c.lr.pending = true
	c.br.Reset(&c.lr)
	return waitGot
}
