package router

import (
	"bufio"
	"errors"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// noLimit is conn.limit outside of response headers.
const noLimit = math.MaxInt64

// connBufferSize is the size of each connection's read and write buffers:
// a request or response head usually fits, and bodies larger than it are
// read and written past the buffer.
const connBufferSize = 4 << 10

// aLongTimeAgo is a deadline in the past, which unblocks every read and
// write on a connection.
var aLongTimeAgo = time.Unix(1, 0)

var errHeaderTooLarge = errors.New("response headers too large")

// conn is a keep-alive connection of the transport to one instance. Only
// the goroutine of the request it carries uses it, except for abort.
type conn struct {
	nc        net.Conn
	br        *bufio.Reader // reads from the conn itself, to count and limit
	bw        *bufio.Writer // writes to the conn itself, to count
	host      *hostConns
	abort     func() // unblocks the conn for a cancelled request; built once so requests do not allocate it
	peek      peeker // what peekIdle needs, built once
	idleSince time.Time

	nread, nwritten int64 // bytes of the current exchange
	limit           int64 // bytes that may still be read: bounds response headers
}

// newConn wraps nc, a new connection to h's address.
func (h *hostConns) newConn(nc net.Conn) *conn {
	c := &conn{nc: nc, host: h, limit: noLimit}
	c.br = bufio.NewReaderSize(c, connBufferSize)
	c.bw = bufio.NewWriterSize(c, connBufferSize)
	c.abort = func() { nc.SetDeadline(aLongTimeAgo) }
	c.peek.init(nc)
	return c
}

// Read implements io.Reader for c.br.
func (c *conn) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.nc.Read(p)
	c.nread += int64(n)
	c.limit -= int64(n)
	return n, err
}

// Write implements io.Writer for c.bw.
func (c *conn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	c.nwritten += int64(n)
	return n, err
}

func (c *conn) close() { c.nc.Close() }

// release ends the exchange on c, whose response was read whole by its
// framing and allows to keep the connection open if keep: c goes back to
// its host's idle stack, or is closed. A byte past the response (an app
// that sent more than it declared, or answered a request twice) ends the
// connection: it must never be read as the answer to the next request,
// which may be another client's. stop is the exchange's cancellation hook,
// or nil.
func (c *conn) release(stop func() bool, keep bool) {
	if stop != nil && !stop() {
		keep = false // the request was cancelled: c may have a deadline in the past
	}
	if keep && c.br.Buffered() > 0 {
		c.host.t.errs.unsolicited.Add(1)
		keep = false
	}
	if keep {
		c.host.put(c)
	} else {
		c.close()
	}
}

// idleState is what waits on an idle connection: see peekIdle.
type idleState int

const (
	idleClean       idleState = iota // nothing: the connection may carry a request
	idleClosed                       // end of file or an error: the instance closed it
	idleUnsolicited                  // bytes no request asked for
)

// hostConns is the idle connections of the transport to one address: a
// stack, so the most recently used connection is reused first and the ones
// a burst left behind age at the bottom until a timer closes them. Requests
// to different addresses never share its lock.
type hostConns struct {
	t    *Transport
	key  string // URL host, the key in t.hosts
	addr string // host:port to dial

	mu    sync.Mutex
	idle  []*conn     // idleSince ascends from the bottom
	sweep *time.Timer // runs sweepIdle while idle is not empty
	armed bool
	dead  bool // sweepIdle took h out of t.hosts; puts go to its successor
}

// host returns the idle connections to the address of URL host key.
func (t *Transport) host(key string) *hostConns {
	if h, ok := t.hosts.Load(key); ok {
		return h.(*hostConns)
	}
	addr := key
	if _, _, err := net.SplitHostPort(key); err != nil {
		addr = net.JoinHostPort(strings.Trim(key, "[]"), "80")
	}
	h, _ := t.hosts.LoadOrStore(key, &hostConns{t: t, key: key, addr: addr})
	return h.(*hostConns)
}

// take pops the most recently used idle connection, or returns nil.
func (h *hostConns) take() *conn {
	h.mu.Lock()
	n := len(h.idle)
	if n == 0 {
		h.mu.Unlock()
		return nil
	}
	c := h.idle[n-1]
	h.idle[n-1] = nil
	h.idle = h.idle[:n-1]
	h.mu.Unlock()
	return c
}

// put pushes c on its host's idle stack, or closes it if the stack is full.
func (h *hostConns) put(c *conn) {
	h.mu.Lock()
	for h.dead {
		h.mu.Unlock()
		h = h.t.host(h.key)
		c.host = h
		h.mu.Lock()
	}
	if len(h.idle) >= h.t.maxIdle {
		h.mu.Unlock()
		c.close()
		return
	}
	c.idleSince = time.Now()
	h.idle = append(h.idle, c)
	if !h.armed {
		h.armed = true
		if h.sweep == nil {
			h.sweep = time.AfterFunc(h.t.idleTimeout, h.sweepIdle)
		} else {
			h.sweep.Reset(h.t.idleTimeout)
		}
	}
	h.mu.Unlock()
}

// sweepIdle closes the connections idle for the transport's idle timeout
// and runs again when the oldest of the others will be. When none is left
// idle, it takes h out of the transport, so that addresses of instances
// long gone are forgotten.
func (h *hostConns) sweepIdle() {
	timeout := h.t.idleTimeout
	now := time.Now()
	h.mu.Lock()
	n := 0
	for n < len(h.idle) && now.Sub(h.idle[n].idleSince) >= timeout {
		n++
	}
	expired := slices.Clone(h.idle[:n])
	m := copy(h.idle, h.idle[n:])
	clear(h.idle[m:])
	h.idle = h.idle[:m]
	if m > 0 {
		// A floor, so that connections left by a burst are closed in a
		// few batches rather than one timer run each.
		h.sweep.Reset(max(h.idle[0].idleSince.Add(timeout).Sub(now), timeout/16))
	} else {
		h.armed = false
		h.dead = true
		h.t.hosts.CompareAndDelete(h.key, h)
	}
	h.mu.Unlock()
	for _, c := range expired {
		c.close()
	}
}

// closeIdle closes all of h's idle connections.
func (h *hostConns) closeIdle() {
	h.mu.Lock()
	idle := h.idle
	h.idle = nil
	h.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}
