// One client connection: its state and buffers, the TLS handshake, its end,
// and the reader that bounds a request's head.

package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one client connection.
type conn struct {
	srv        *Server
	rwc        net.Conn
	remoteAddr string
	ctx        context.Context
	idle       atomic.Bool // waiting for a request: Shutdown may close it

	lr       limitReader   // between rwc and br: bounds the headers
	br       *bufio.Reader // while a request is read and served; nil when idle
	bw       *bufio.Writer // while a response is written
	first    [1]byte       // the byte that ended the idle wait
	hijacked bool
	lastPOST bool                 // the last request was a POST (a stray CRLF may follow)
	served   int                  // requests read so far
	tls      *tls.Conn            // when over TLS
	tlsState *tls.ConnectionState // its handshake, for Request.TLS
	// drained is set when the last wait for a request timed out reading
	// the connection with an empty read buffer: over TLS, only then can it
	// be parked (see park).
	drained bool
	parkedState
	// header and sentHeader are the response header maps, reused.
	header, sentHeader http.Header
	// idleSince is when the connection last went idle; the idle timeout
	// counts from it across a hand-over.
	idleSince time.Time
	// watch starts the disconnect watch of the request being served,
	// watched (since watchSince) under watchMu: one timer for all of a
	// busy connection's requests, armed by the first and left to run
	// (watchArmed) across the next. A request only says what is watched
	// and since when; a fire re-arms for the rest of the wait of the one
	// being served, starts its watch once it has waited out
	// disconnectWatchAfter, or, finding none, lets the timer rest until
	// the next request arms it. (Resetting and stopping it for every
	// request cost 2-3% of the router's CPU.)
	watch      *time.Timer
	watchMu    sync.Mutex
	watched    watcher
	watchSince time.Time
	watchArmed bool
	// hook is the cancellation hook of the request being served, reused:
	// see requestContext.
	hook *cancelHook
	// exchange is the Exchange of the plain request being served, reused.
	exchange *Exchange
}

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

func (c *conn) serve() {
	if c.tls = tlsConn(c.rwc); c.tls != nil && !c.handshake() {
		return
	}
	// As http.Server's: handlers such as httputil.ReverseProxy look for
	// it (ReverseProxy then aborts a response whose body it could not
	// copy whole, instead of ending it as if it were complete).
	c.ctx = context.WithValue(context.Background(), http.ServerContextKey, c.srv.asHTTPServer())
	if c.srv.ConnContext != nil {
		c.ctx = c.srv.ConnContext(c.ctx, c.rwc)
	}
	c.lr.r, c.lr.c = c.rwc, c
	c.idleSince = time.Now()
	c.next(true)
}

// tlsConn returns the *tls.Conn c is or wraps, or nil.
func tlsConn(c net.Conn) *tls.Conn {
	for {
		if tc, ok := c.(*tls.Conn); ok {
			return tc
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
}

// handshake does the TLS handshake within ReadHeaderTimeout and hands the
// connection to TLSNextProto when it chose another protocol than
// HTTP/1.x; it reports whether the connection goes on here.
func (c *conn) handshake() bool {
	if d := c.srv.ReadHeaderTimeout; d > 0 {
		c.rwc.SetDeadline(time.Now().Add(d))
	}
	err := c.tls.HandshakeContext(context.Background())
	c.rwc.SetDeadline(time.Time{})
	if err != nil {
		c.srv.logf("h1: TLS handshake from %s: %v", c.remoteAddr, err)
		c.end()
		return false
	}
	st := c.tls.ConnectionState()
	c.tlsState = &st
	switch proto := st.NegotiatedProtocol; proto {
	case "", "http/1.1", "http/1.0":
		return true
	default:
		fn := c.srv.TLSNextProto[proto]
		if fn == nil {
			c.end() // acme-tls/1 after its certificate, or what nobody speaks here
			return false
		}
		c.hijacked = true // the connection is fn's now
		c.end()
		fn(c.tls)
		return false
	}
}

// end closes the connection (unless a handler took it over) and forgets
// it.
func (c *conn) end() {
	c.dropWatch()
	state := http.StateClosed
	if !c.hijacked {
		c.rwc.Close()
		c.release()
	} else {
		state = http.StateHijacked
	}
	c.srv.forget(c, state)
}

// release gives the connection's buffers back to their pools.
func (c *conn) release() {
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
	c.releaseWriter()
}

// releaseWriter gives the write buffer back to its pool.
func (c *conn) releaseWriter() {
	if c.bw != nil {
		c.bw.Reset(nil)
		writers.Put(c.bw)
		c.bw = nil
	}
}

// limitReader reads from r, first handing out the byte the idle wait read
// (pending), and at most n bytes while n >= 0. While headTimeout is set, a
// read of r first sets the read deadline that far ahead (once).
type limitReader struct {
	c           *conn
	r           io.Reader
	pending     bool
	n           int64 // < 0: no limit
	hit         bool
	headTimeout time.Duration
}

func (l *limitReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if l.n == 0 {
		l.hit = true
		return 0, io.EOF
	}
	if l.n > 0 && int64(len(p)) > l.n {
		p = p[:l.n]
	}
	if l.headTimeout > 0 && (!l.pending || len(p) > 1) {
		l.c.rwc.SetReadDeadline(time.Now().Add(l.headTimeout))
		l.headTimeout = 0
	}
	var n int
	var err error
	if l.pending {
		// The byte the idle wait read, and what came with it, so that
		// the request's head is in the buffer for the plain path to
		// find (readRequest would block for the rest as well).
		l.pending = false
		p[0] = l.c.first[0]
		n = 1
		if len(p) > 1 {
			var m int
			m, err = l.r.Read(p[1:])
			n += m
		}
	} else {
		n, err = l.r.Read(p)
	}
	if l.n > 0 {
		l.n -= int64(n)
	}
	return n, err
}
