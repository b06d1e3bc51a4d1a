package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults of the transport built by NewTransport.
const (
	// DefaultDialTimeout bounds connecting to an instance, so that a
	// request to a hung instance fails over quickly.
	DefaultDialTimeout = 5 * time.Second
	// DefaultMaxIdleConnsPerHost keeps enough warm connections to each
	// instance for a busy app, so requests rarely pay for a new connection.
	DefaultMaxIdleConnsPerHost = 256
	// DefaultIdleConnTimeout closes connections unused for this long.
	DefaultIdleConnTimeout = 90 * time.Second
	// DefaultMaxBufferedBody is the largest request body the router reads
	// whole before sending the request; a longer one is streamed. See
	// Transport.
	DefaultMaxBufferedBody = 64 << 10
)

// expectContinueTimeout is how long a streamed body that the client sent
// Expect: 100-continue for waits for the app's 100 Continue, as
// http.Transport's ExpectContinueTimeout.
const expectContinueTimeout = time.Second

// maxResponseHeaderBytes bounds the response headers the transport reads
// for one request, interim (1xx) responses included, as
// http.Server's DefaultMaxHeaderBytes bounds request headers.
const maxResponseHeaderBytes = 1 << 20

// Transport carries a Router's requests to instances. It speaks HTTP/1.1 to
// them, keeps connections to them alive,
// ignores proxy environment variables, never asks for compression (the
// client's Accept-Encoding passes through instead), bounds dialing but not
// the wait for response headers, since apps may long-poll or stream. Create
// one with NewTransport; it is safe for concurrent use.
//
// Each round trip runs in the calling goroutine, on a keep-alive
// connection popped from a stack of idle ones kept per instance address,
// and the connection goes back on the stack when the response body has
// been read to its end and closed. http.Transport instead hands every
// request to two goroutines per connection (its readLoop and writeLoop),
// which cost about a quarter of the router's CPU in the router-vs-nginx
// benchmark. A request body is held whole (the router reads one of at most
// DefaultMaxBufferedBody bytes first, as nginx buffers request bodies), so
// that the exchange is strictly request, then response; a longer one is
// streamed by a goroutine of its own while the response is read.
//
// A connection that turns out to be closed by the instance while it was
// idle costs a request nothing: if no byte of a response came back on a
// reused connection, the request is sent again once on a new connection when
// it is idempotent (GET, HEAD, OPTIONS, TRACE, or with an Idempotency-Key
// header) or when no byte of it could be written. Dial errors are
// *net.OpError with Op "dial", as the router's retry on another instance
// expects.
//
// A connection is reused only when it is provably clean, so that no byte
// of one client's exchange can reach another client: the request was
// written whole and had no body (an app that does not read a body, as
// Python's http.server does not for a GET, reads it as a second request
// and answers it: a request with a body goes out with Connection: close
// and its connection is not reused), the response was read whole by its
// framing with nothing after it in the buffer, and a peek at the socket
// just before the next request goes out finds nothing arrived since (a
// response nobody asked for, or a close). What it finds is counted (see
// Errors).
type Transport struct {
	dialer      net.Dialer
	maxIdle     int           // idle connections kept per address
	idleTimeout time.Duration // idle connections are closed after this long
	maxBody     int64         // largest request body the router holds whole
	hosts       sync.Map      // URL host → *hostConns
	errs        upstreamErrors
}

// upstreamErrors counts the exchanges that ended for the
// instance's fault.
type upstreamErrors struct {
	reset       atomic.Uint64 // the connection ended before the response did
	malformed   atomic.Uint64 // a response the transport could not frame
	unsolicited atomic.Uint64 // bytes no request asked for
}

// UpstreamErrors counts what instances did wrong on the router's
// connections to them, for the metrics.
type UpstreamErrors struct {
	// Reset is exchanges whose connection ended (closed or reset by the
	// instance) before the whole response came.
	Reset uint64
	// Malformed is responses that could not be framed with certainty:
	// a bad status line or header, headers past the limit, a 101 to a
	// request that asked for no upgrade.
	Malformed uint64
	// Unsolicited is connections closed because bytes came that no
	// request asked for: more than a response declared, or a response on
	// an idle connection. None of them reaches a client.
	Unsolicited uint64
}

// Errors returns the counts of the instances' faults seen so far.
func (t *Transport) Errors() UpstreamErrors {
	return UpstreamErrors{Reset: t.errs.reset.Load(), Malformed: t.errs.malformed.Load(), Unsolicited: t.errs.unsolicited.Load()}
}

// NewTransport returns the transport a Router makes, tuned for many
// requests to few local instances: see Transport.
func NewTransport() *Transport {
	return &Transport{
		dialer:      net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second},
		maxIdle:     DefaultMaxIdleConnsPerHost,
		idleTimeout: DefaultIdleConnTimeout,
		maxBody:     DefaultMaxBufferedBody,
	}
}

// CloseIdleConnections closes the connections that are not carrying a
// request. Later requests open new ones.
func (t *Transport) CloseIdleConnections() {
	t.hosts.Range(func(_, v any) bool {
		v.(*hostConns).closeIdle()
		return true
	})
}

// outbound is a request as the transport writes it on a connection.
type outbound interface {
	// write writes the request's head, and its body if it is held whole,
	// to bw, which the caller flushes.
	write(bw *bufio.Writer) error
	// stream returns the body to send as it comes, after the head and
	// while the response is read, or nil.
	stream() *streamBody
	// interim is told of each interim response other than 100 Continue
	// (103 Early Hints) with its headers; it returns whether it passed
	// the response on.
	interim(code int, h http.Header) (bool, error)
	// closes reports whether the connection must not carry another
	// request after this one.
	closes() bool
	// slots returns room for the exchange's response, or nil.
	slots() *exchangeSlots
	// upgrading reports whether the request asks for a protocol switch,
	// which a 101 response then makes.
	upgrading() bool
}

// isUpgrade reports whether h asks for a protocol switch.
func isUpgrade(h http.Header) bool {
	return len(h["Upgrade"]) > 0 || headerHasToken(h["Connection"], "upgrade")
}

// idempotent reports whether the app may see a request of method with
// header h twice, by the rule http.Transport retries by.
func idempotent(method string, h http.Header) bool {
	switch method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := h["Idempotency-Key"]
	_, xkey := h["X-Idempotency-Key"]
	return key || xkey
}

// send sends out, a request like req (whose method the response is read
// for), to host:port key. replay says whether the app may see the request
// twice.
func (t *Transport) send(ctx context.Context, key string, req *http.Request, replay bool, out outbound) (*http.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := t.sendOn(ctx, key, req, replay, out)
	if err != nil && ctx.Err() == nil && !isDialError(err) {
		t.errs.count(err)
	}
	return res, err
}

// count counts a failed exchange by its cause.
func (e *upstreamErrors) count(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		e.reset.Add(1)
	} else {
		e.malformed.Add(1)
	}
}

// sendOn is send once the request's context is checked.
func (t *Transport) sendOn(ctx context.Context, key string, req *http.Request, replay bool, out outbound) (*http.Response, error) {
	h := t.host(key)
	for {
		c := h.take()
		if c == nil {
			break
		}
		// Reused only when nothing arrived while it was idle: a response
		// nobody asked for would go to this request's client.
		switch peekIdle(c) {
		case idleClean:
		case idleUnsolicited:
			t.errs.unsolicited.Add(1)
			c.close()
			continue
		default:
			c.close()
			continue
		}
		res, err := t.exchange(ctx, c, req, out)
		if err == nil {
			return res, nil
		}
		// The instance may have closed the idle connection as the request
		// went out. If nothing came back, try once more on a new one when
		// that cannot make the app see the request twice.
		if ctx.Err() != nil || c.nread > 0 || (c.nwritten > 0 && !replay) {
			return nil, err
		}
		break
	}
	nc, err := t.dial(ctx, h.addr)
	if err != nil {
		return nil, err
	}
	return t.exchange(ctx, h.newConn(nc), req, out)
}

// dialAttempt bounds one attempt to connect to an instance.
const dialAttempt = 200 * time.Millisecond

// dial connects to addr in attempts of dialAttempt, within the dialer's
// timeout. An instance whose listen backlog is full drops the SYN, and the
// kernel sends it again only after a second: a just-woken instance of
// Python's http.server (a backlog of 5) met by ten pinned sessions at once
// made their p99 wake 1.2 s. A new attempt sends a new SYN at once, and no
// byte of the request has gone out, so it is always safe.
func (t *Transport) dial(ctx context.Context, addr string) (net.Conn, error) {
	deadline := time.Now().Add(t.dialer.Timeout)
	for {
		actx, cancel := context.WithTimeout(ctx, min(dialAttempt, time.Until(deadline)))
		nc, err := t.dialer.DialContext(actx, "tcp", addr)
		cancel()
		var ne net.Error
		if err == nil || ctx.Err() != nil || !errors.As(err, &ne) || !ne.Timeout() || time.Until(deadline) <= 0 {
			return nc, err
		}
	}
}

// afterCanceler is a context that runs a function when canceled, as
// context.AfterFunc arranges, more cheaply (internal/h1's request
// contexts); ok false means the caller must use context.AfterFunc.
type afterCanceler interface {
	AfterCancel(f func()) (stop func() bool, ok bool)
}

// exchange sends out on c and reads the response headers. On error it
// closes c; otherwise the response body hands c back to its host's idle
// stack or closes it.
func (t *Transport) exchange(ctx context.Context, c *conn, req *http.Request, out outbound) (*http.Response, error) {
	// A cancelled request unblocks the reads and writes on c without a
	// goroutine of its own; c is then not reused. The lean server's
	// request contexts take the hook without allocating (AfterCancel).
	var stop func() bool
	if h, ok := ctx.(afterCanceler); ok {
		stop, _ = h.AfterCancel(c.abort)
	}
	if stop == nil && ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.abort)
	}
	res, err := c.roundTrip(req, out)
	if err != nil {
		if stop != nil {
			stop()
		}
		c.close()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// The connection is the upgraded protocol's now: see tunnel.
		if stop != nil {
			stop()
		}
		res.Body = &upgraded{c: c}
		return res, nil
	}
	keep := !res.Close && !out.closes()
	if res.Body == http.NoBody {
		c.release(stop, keep)
		return res, nil
	}
	var body *connBody
	if s := out.slots(); s != nil {
		body = &s.body
	} else {
		body = new(connBody) // only here: one made before the branch would be allocated on both
	}
	*body = connBody{c: c, body: res.Body, ctx: ctx, stop: stop, keep: keep}
	res.Body = body
	return res, nil
}

// roundTrip writes out, then reads the response headers to req, skipping
// interim responses.
func (c *conn) roundTrip(req *http.Request, out outbound) (*http.Response, error) {
	c.nread, c.nwritten = 0, 0
	if err := out.write(c.bw); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	if err := c.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	// A streamed body is written while the response is read, as an app
	// may answer before it has read it (413, a redirect). When the client
	// asked to be told to go on (Expect: 100-continue), the body waits for
	// the app's 100 Continue, or a second as http.Transport does: an app's
	// refusal then reaches the client before the client sends the body,
	// which it does only once the body is read.
	var pump func()
	if s := out.stream(); s != nil {
		var once sync.Once
		pump = func() { once.Do(func() { go s.pump(c.nc) }) }
		if s.expect {
			wait := time.AfterFunc(expectContinueTimeout, pump)
			defer wait.Stop()
		} else {
			pump()
		}
	}
	c.limit = maxResponseHeaderBytes
	defer func() { c.limit = noLimit }()
	for {
		res, err := readResponse(c.br, req, out.slots())
		if err != nil {
			return nil, fmt.Errorf("read response: %w", err)
		}
		code := res.StatusCode
		switch {
		case code == http.StatusSwitchingProtocols && !out.upgrading():
			return nil, errors.New("read response: 101 Switching Protocols to a request without Upgrade")
		case code == http.StatusSwitchingProtocols:
			return res, nil
		case code < 100 || code > 199:
			return res, nil
		case code == http.StatusContinue:
			if pump != nil {
				pump()
			} // else the body went out with the head
		default:
			// Another interim response (103 Early Hints): passed on if
			// the request wants it, as http.Transport does.
			passed, err := out.interim(code, res.Header)
			if err != nil {
				return nil, err
			}
			if passed {
				c.limit = maxResponseHeaderBytes
			}
		}
	}
}
