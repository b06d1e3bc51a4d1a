package h1

import (
	"bufio"
	"context"
	"net/http"
)

// SimpleHandler is a Handler that can serve the usual request without an
// http.Request: a plain GET (see simpleHead.plain) is offered to
// ServeSimple as an Exchange first, and served with ServeHTTP, as any
// other request, if ServeSimple declines. The router serves most of its
// requests this way: no header map is built for them or for their
// responses, no http.Request copied for its context, and their head goes
// out in one buffer with the body.
type SimpleHandler interface {
	http.Handler
	// ServeSimple serves x and reports true, or reports false having
	// written nothing and not asked for x's Writer.
	ServeSimple(x *Exchange) bool
}

// Exchange is a plain GET being served by a SimpleHandler. Its strings
// are parts of one copy of the request's head, which the handler may
// keep; the Exchange itself is the connection's, reused for its next
// request once ServeSimple returns.
//
// The handler writes a response either itself, with Begin, its header
// lines, EndHead and the body (the whole response must be well formed:
// h1 adds only Date, Connection: close and the blank line), or through
// the http.ResponseWriter Writer makes, with net/http's rules.
type Exchange struct {
	c     *conn
	h     simpleHead
	ctx   exchangeContext
	watch watchState
	w     *response // made by Writer
	req   *http.Request
	began bool // Begin wrote a status line
	abort bool // the connection closes after the response
}

// Target returns the request target, an origin-form path and query that
// url.ParseRequestURI and URL.RequestURI give back as they are.
func (x *Exchange) Target() string { return x.h.target }

// Host returns the Host header's value, which is valid
// (httpguts.ValidHostHeader).
func (x *Exchange) Host() string { return x.h.host }

// Fields returns the request's header lines, Host included, each ended by
// CRLF, as httphead.Next walks them: names are tokens and values hold no
// control characters but tabs. None is Content-Length, Transfer-Encoding,
// Expect, Pragma, Trailer, Upgrade or Te, and a Connection header names
// nothing but close and keep-alive.
func (x *Exchange) Fields() string { return x.h.fields }

// Close reports whether the client asked to close the connection after
// the response.
func (x *Exchange) Close() bool { return x.h.close }

// RemoteAddr returns the client's address, as http.Request.RemoteAddr.
func (x *Exchange) RemoteAddr() string { return x.c.remoteAddr }

// TLS reports whether the request came over TLS.
func (x *Exchange) TLS() bool { return x.c.tlsState != nil }

// Context returns the request's context, canceled when the client goes
// away (see disconnectWatchAfter) and when ServeSimple returns.
func (x *Exchange) Context() context.Context { return &x.ctx }

// Writer returns what ServeHTTP would get for the request, an
// http.ResponseWriter and the http.Request, made at the first call, for a
// response Begin cannot write (an error page, a response of the app that
// is not simple). It must not be called after Begin.
func (x *Exchange) Writer() (http.ResponseWriter, *http.Request) {
	if x.w != nil {
		return x.w, x.req
	}
	if x.began {
		panic("h1: Exchange.Writer after Begin")
	}
	c := x.c
	req := x.h.request() // never nil: the target is plain
	delete(req.Header, "Host")
	req = req.WithContext(&x.ctx)
	req.RemoteAddr = c.remoteAddr
	req.TLS = c.tlsState
	if c.header == nil {
		c.header, c.sentHeader = http.Header{}, http.Header{}
	}
	clear(c.header)
	w := &response{conn: c, req: req, handlerHeader: c.header, contentLength: -1, wantsClose: x.h.close,
		cancelBase: func() {}}
	w.ctx.hook = c.hook
	w.bodyState = requestBody{rc: http.NoBody, w: w, sawEOF: true}
	w.body = &w.bodyState
	w.watch.off = true // the exchange's watch covers it
	x.w, x.req = w, req
	return w, req
}

// Begin starts the response with its status line and returns the writer
// its header lines (each ended by CRLF, none of them Date unless EndHead
// is told, nor Connection) go to, then, after EndHead, its body, exactly
// as long as its Content-Length says. The server flushes the writer when
// ServeSimple returns.
func (x *Exchange) Begin(code int) *bufio.Writer {
	if x.w != nil || x.began {
		panic("h1: Exchange.Begin after Writer or Begin")
	}
	x.began = true
	writeStatusLine(x.c.bw, true, code)
	return x.c.bw
}

// EndHead ends the response's header: a Date unless hasDate, Connection:
// close if the connection closes after the response, and the blank line.
func (x *Exchange) EndHead(hasDate bool) {
	bw := x.c.bw
	if !hasDate {
		bw.WriteString("Date: ")
		bw.Write(httpDate())
		bw.Write(crlf)
	}
	if x.h.close || x.c.srv.shutdown.Load() {
		x.abort = true
		bw.WriteString("Connection: close\r\n")
	}
	bw.Write(crlf)
}

// Abort closes the connection once what was written of the response has
// gone out: for a body cut short, which the client must not take for a
// whole one.
func (x *Exchange) Abort() { x.abort = true }

// cancel cancels the exchange's context.
func (x *Exchange) cancel() { x.ctx.hook.fire() }

// watchDisconnect is response.watchDisconnect for an exchange (which has
// no body to wait for).
func (x *Exchange) watchDisconnect() {
	x.watch.mu.Lock()
	defer x.watch.mu.Unlock()
	x.watch.start(x.c, x.cancel)
}

// serveExchange serves the plain request h with sh, or with ServeHTTP if
// sh declines it; it reports whether the connection may carry another
// request.
func (c *conn) serveExchange(sh SimpleHandler, h *simpleHead) bool {
	c.lastPOST = false
	if c.bw == nil {
		c.bw = writers.Get().(*bufio.Writer)
		c.bw.Reset(c.rwc)
	}
	if c.hook == nil {
		c.hook = newCancelHook()
	}
	c.hook.reset()
	if c.exchange == nil {
		c.exchange = &Exchange{c: c, ctx: exchangeContext{Context: c.ctx, hook: c.hook}}
	}
	// Field by field, the watch's under its lock: a watch timer that
	// fires late for the last exchange may be calling watchDisconnect on
	// this one (which then only starts this one's watch early).
	x := c.exchange
	x.h, x.w, x.req, x.began, x.abort = *h, nil, nil, false, false
	x.watch.reset()
	c.armWatch(x)
	returned := false
	defer func() {
		if !returned {
			// A panic (http.ErrAbortHandler from a response through
			// Writer): as in serveHTTP.
			c.disarmWatch()
			x.watch.stop(c)
			c.hook.fire()
		}
	}()
	served := sh.ServeSimple(x)
	returned = true
	c.disarmWatch()
	x.watch.stop(c)
	if !served && !x.began && x.w == nil {
		c.hook.fire()
		return c.serveHTTP(x.h.request())
	}
	c.hook.fire() // as a request's context is canceled when ServeHTTP returns
	if !x.began && x.w == nil {
		x.Writer() // (a handler that wrote nothing: 200 with no body)
	}
	if x.w != nil {
		x.w.finish()
		return !x.w.closeAfterReply
	}
	if err := c.bw.Flush(); err != nil {
		return false
	}
	return !x.abort
}
