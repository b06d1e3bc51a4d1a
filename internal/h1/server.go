// Package h1 serves an http.Handler over HTTP/1.x with less work a
// request and less memory an idle connection than net/http's server, for
// the router's listeners.
//
// It parses requests with net/http's own request parser (the one
// http.Server uses, reached by its documented linkname) and checks them as
// http.Server does (Host, header names and values, protocol version,
// Expect), so that what reaches a handler is what net/http would hand it;
// the differential test in this package holds it to that. What it does
// not do, and why it is cheaper:
//
//   - no background read per request: http.Server starts a goroutine for
//     every request to notice a client that goes away, which costs a
//     goroutine, a read that finds nothing and a hand-over between threads
//     each time. Here a request that is still running after
//     disconnectWatchAfter gets that watch; a quick one never does.
//   - no buffers or goroutine while idle: a busy connection (its next
//     request within handOverAfter) waits in its read buffer, so a request
//     takes one read; after that, and after its first request, it hands
//     the wait to a new goroutine (the stack a request grew goes back),
//     and it is parked in an epoll set with no goroutine at all
//     (park_linux.go), over TLS once a read that timed out has shown that
//     the tls.Conn holds nothing of a next request; buffers come from pools
//     for each request (net/http keeps 8 KB of them and a goroutine for
//     every connection).
//
// Over TLS (a listener of *tls.Conn, possibly wrapped), it does the
// handshake itself and hands a connection that negotiated another
// protocol (h2) to TLSNextProto, as http.Server does.
package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "unsafe" // for go:linkname

	"golang.org/x/net/http/httpguts"
)

// readRequest is net/http's request parser, the one http.Server reads
// with: http.ReadRequest without its removal of the Host header, which the
// server checks as http.Server does. net/http keeps it reachable on purpose
// (go.dev/issue/67401).
//
//go:linkname readRequest net/http.readRequest
func readRequest(b *bufio.Reader) (*http.Request, error)

// Defaults, as http.Server's.
const (
	DefaultMaxHeaderBytes = http.DefaultMaxHeaderBytes
	// maxPostHandlerReadBytes is how much of a request body the handler
	// left unread is read away to keep the connection; more closes it.
	maxPostHandlerReadBytes = 256 << 10
	// bufferBeforeChunking is how much of a response of unknown length is
	// held, so that a short one gets a Content-Length instead of chunks.
	bufferBeforeChunking = 2048
	// disconnectWatchAfter is how long a request runs before its client
	// connection is watched for going away (its context is then canceled).
	disconnectWatchAfter = 50 * time.Millisecond
)

// Server serves Handler on the connections of a listener. Set its fields
// before Serve.
type Server struct {
	Handler http.Handler
	// ReadHeaderTimeout bounds reading a request's headers, from its first
	// byte; IdleTimeout the wait for the next request on a connection.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes bounds the request line and headers (431 beyond), as
	// http.Server's field of the name; 0 means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ConnContext, when set, returns the context of a new connection's
	// requests, as http.Server's field of the name.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// ConnState, when set, hears of new and closed (or hijacked)
	// connections, with http.StateNew, http.StateClosed and
	// http.StateHijacked.
	ConnState func(net.Conn, http.ConnState)
	// TLSNextProto takes over a TLS connection whose handshake chose a
	// protocol other than HTTP/1.x, by its ALPN name ("h2"); one with no
	// entry is closed.
	TLSNextProto map[string]func(*tls.Conn)
	Logger       *slog.Logger

	std     *http.Server // for http.ServerContextKey: see asHTTPServer
	stdOnce sync.Once

	mu       sync.Mutex
	ln       net.Listener
	parker   parker // idle connections without a goroutine (park_linux.go)
	conns    map[*conn]struct{}
	shutdown atomic.Bool
}

// asHTTPServer returns an http.Server with s's Handler, timeouts and
// limits, which is the value of http.ServerContextKey in s's request
// contexts. Nothing serves with it.
func (s *Server) asHTTPServer() *http.Server {
	s.stdOnce.Do(func() {
		s.std = &http.Server{Handler: s.Handler, ReadHeaderTimeout: s.ReadHeaderTimeout, IdleTimeout: s.IdleTimeout,
			MaxHeaderBytes: s.MaxHeaderBytes}
	})
	return s.std
}

// ErrServerClosed is what Serve returns after Shutdown.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections on ln and serves each in its own goroutine,
// until Shutdown or Close; it then returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	s.ln = ln
	s.mu.Unlock()
	if s.shutdown.Load() {
		ln.Close()
		return ErrServerClosed
	}
	var delay time.Duration
	for {
		rwc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			if temporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &conn{srv: s, rwc: rwc, remoteAddr: rwc.RemoteAddr().String()}
		s.mu.Lock()
		if s.shutdown.Load() {
			s.mu.Unlock()
			rwc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		if s.ConnState != nil {
			s.ConnState(rwc, http.StateNew)
		}
		go c.serve()
	}
}

// temporary reports whether an accept error passes (out of descriptors
// or memory, a connection reset before it was accepted): Serve waits a
// little and accepts again, as http.Server does, instead of stopping.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Shutdown stops accepting, closes the idle connections, waits for the
// requests in flight to finish (their connections close after them) until
// ctx is done, and then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	defer s.parker.stop()
	for {
		if s.closeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	s.unparkAll()
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.rwc.Close()
	}
	s.mu.Unlock()
	s.parker.stop()
	return nil
}

// closeIdle closes the connections waiting for a request and returns how
// many are left.
func (s *Server) closeIdle() int {
	s.unparkAll()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			c.rwc.Close()
		}
	}
	return len(s.conns)
}

func (s *Server) forget(c *conn, state http.ConnState) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if s.ConnState != nil {
		s.ConnState(c.rwc, state)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.Logger != nil {
		s.Logger.Debug(fmt.Sprintf(format, args...))
	}
}

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

// serveRequest reads one request and serves it; it reports whether the
// connection may carry another.
func (c *conn) serveRequest() bool {
	// The head's first read sets the deadline: one already whole in the
	// read buffer, a busy connection's usual request, needs none.
	c.lr.headTimeout = c.srv.ReadHeaderTimeout
	limit := c.srv.MaxHeaderBytes
	if limit <= 0 {
		limit = DefaultMaxHeaderBytes
	}
	c.lr.n, c.lr.hit = int64(limit)+4096, false // http.Server's slack for the bufio.Reader
	if c.lastPOST {
		peek, _ := c.br.Peek(4) // RFC 7230 section 3: tolerate a CRLF after a POST's body
		c.br.Discard(leadingCRLF(peek))
	}
	sh, _ := c.srv.Handler.(SimpleHandler)
	h, req, err := readHead(c.br, sh != nil)
	if err != nil {
		c.refuse(err)
		return false
	}
	c.lr.n, c.lr.headTimeout = -1, 0
	c.rwc.SetReadDeadline(time.Time{})
	if req == nil {
		return c.serveExchange(sh, &h)
	}
	return c.serveHTTP(req)
}

// serveHTTP serves req, read whole but for its body, with the Handler's
// ServeHTTP; it reports whether the connection may carry another request.
func (c *conn) serveHTTP(req *http.Request) bool {
	c.lastPOST = req.Method == http.MethodPost
	if msg := check(req); msg != "" {
		code := http.StatusBadRequest
		if msg == "unsupported protocol version" {
			code = http.StatusHTTPVersionNotSupported
		}
		c.writeError(code, msg)
		return false
	}
	delete(req.Header, "Host")

	if c.bw == nil {
		c.bw = writers.Get().(*bufio.Writer)
		c.bw.Reset(c.rwc)
	}
	// The header maps are the connection's, emptied for each request: a
	// handler must not use its ResponseWriter after ServeHTTP returns.
	if c.header == nil {
		c.header, c.sentHeader = http.Header{}, http.Header{}
	}
	clear(c.header)
	w := &response{conn: c, req: req, handlerHeader: c.header, contentLength: -1,
		wants10KeepAlive: wants10KeepAlive(req), wantsClose: wantsClose(req)}
	if c.hook == nil {
		c.hook = newCancelHook()
	}
	c.hook.reset()
	var base context.Context
	base, w.cancelBase = context.WithCancel(c.ctx)
	defer w.cancel()
	w.ctx = requestContext{Context: base, hook: c.hook}
	// In place, not a copy: the body fills in the trailers of the request
	// the parser made.
	*req = *req.WithContext(&w.ctx)
	req.RemoteAddr = c.remoteAddr
	req.TLS = c.tlsState
	w.bodyState = requestBody{rc: req.Body, w: w}
	body := &w.bodyState
	if req.Body == nil || req.Body == http.NoBody {
		body.sawEOF = true
	}
	if expect := req.Header.Get("Expect"); expect != "" {
		if !httpguts.HeaderValuesContainsToken([]string{expect}, "100-continue") {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusExpectationFailed)
			w.finish()
			return false
		}
		if req.ProtoAtLeast(1, 1) && req.ContentLength != 0 {
			body.expectContinue = true
		}
	}
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = body
	}
	w.body = body

	var h http.Handler = c.srv.Handler
	if req.RequestURI == "*" && req.Method == http.MethodOptions {
		h = globalOptions{} // as http.Server answers it
	}
	c.armWatch(w)
	returned := false
	defer func() {
		if !returned {
			// The handler panicked (http.ErrAbortHandler aborts a
			// response): no watch may start, or go on reading, on the
			// connection next ends.
			c.disarmWatch()
			w.stopWatching()
		}
	}()
	h.ServeHTTP(w, req)
	returned = true
	c.disarmWatch()
	if c.hijacked {
		return false
	}
	w.stopWatching()
	w.finish()
	return !w.closeAfterReply
}

// globalOptions answers "OPTIONS *" as http.Server does: 200, no body,
// the request body (up to 4 KB) read away.
type globalOptions struct{}

func (globalOptions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "0")
	if r.ContentLength != 0 {
		mb := http.MaxBytesReader(w, r.Body, 4<<10)
		io.Copy(io.Discard, mb)
	}
}

// leadingCRLF counts the CR and LF bytes b starts with.
func leadingCRLF(b []byte) int {
	n := 0
	for _, c := range b {
		if c != '\r' && c != '\n' {
			break
		}
		n++
	}
	return n
}

// check does http.Server's checks of a parsed request and returns why it
// is refused, or "".
func check(req *http.Request) string {
	if !(req.ProtoMajor == 1 || req.ProtoMajor == 2 && req.ProtoMinor == 0 && req.Method == "PRI" && req.RequestURI == "*") {
		return "unsupported protocol version"
	}
	hosts, haveHost := req.Header["Host"]
	h2Upgrade := req.Method == "PRI" && len(req.Header) == 0 && req.URL.Path == "*" && req.Proto == "HTTP/2.0"
	if req.ProtoAtLeast(1, 1) && (!haveHost || len(hosts) == 0) && !h2Upgrade && req.Method != "CONNECT" {
		return "missing required Host header"
	}
	if len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return "malformed Host header"
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return "invalid header name"
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return "invalid header value"
			}
		}
	}
	return ""
}

func wants10KeepAlive(r *http.Request) bool {
	return r.ProtoMajor == 1 && r.ProtoMinor == 0 && httpguts.HeaderValuesContainsToken(r.Header["Connection"], "keep-alive")
}

func wantsClose(r *http.Request) bool {
	return r.Close || httpguts.HeaderValuesContainsToken(r.Header["Connection"], "close")
}

// refuse answers a request that could not be read, as http.Server does:
// 431 when its headers were too large, 501 for a transfer coding it does
// not know, nothing when the connection ended, timed out or failed, and a
// bare 400 otherwise (the parser's reason is not echoed).
func (c *conn) refuse(err error) {
	const headers = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	c.rwc.SetWriteDeadline(time.Now().Add(time.Second))
	var ne net.Error
	var oe *net.OpError
	switch {
	case c.lr.hit:
		const msg = "431 Request Header Fields Too Large"
		io.WriteString(c.rwc, "HTTP/1.1 "+msg+headers+msg)
		c.closeWriteAndWait()
	case unsupportedTE(err):
		io.WriteString(c.rwc, "HTTP/1.1 501 Not Implemented"+headers+"Unsupported transfer encoding")
	case err == io.EOF || errors.As(err, &ne) && ne.Timeout() || errors.As(err, &oe) && oe.Op == "read":
	default:
		io.WriteString(c.rwc, "HTTP/1.1 400 Bad Request"+headers+"400 Bad Request")
	}
}

// unsupportedTE reports whether readRequest refused a transfer coding
// (its *http.unsupportedTEError, which net/http does not export).
func unsupportedTE(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if reflect.TypeOf(err).String() == "*http.unsupportedTEError" {
			return true
		}
	}
	return false
}

// writeError answers a request refused after parsing, with its reason,
// and the connection closes after it, as http.Server does.
func (c *conn) writeError(code int, msg string) {
	text := http.StatusText(code) + ": " + msg
	c.rwc.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c.rwc, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%d %s", code, text, code, text)
}

// closeWriteAndWait shuts the sending side and waits a moment, so that the
// client reads the answer before the connection is reset.
func (c *conn) closeWriteAndWait() {
	if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	time.Sleep(500 * time.Millisecond) // as http.Server's rstAvoidanceDelay
}
