// Reading a request (net/http's parser), checking it as http.Server does,
// serving it with the Handler's ServeHTTP, and answering one refused.

package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
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
