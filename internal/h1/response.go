package h1

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// response is the http.ResponseWriter of one request. It follows
// http.Server's rules for the headers it adds (Content-Length of a short
// body written at once, chunking, Date, Content-Type sniffing,
// Connection) and for keeping the connection.
type response struct {
	conn          *conn
	req           *http.Request
	body          *requestBody
	handlerHeader http.Header
	sent          http.Header // the header as written, once WriteHeader was called

	wroteHeader      bool // the handler called WriteHeader or Write
	headerOnWire     bool // the status line and headers are written
	status           int
	contentLength    int64 // from the handler's Content-Length, -1 if none
	written          int64 // body bytes the handler wrote
	chunking         bool
	pending          []byte // body held before the headers go out (bufferBeforeChunking)
	trailers         []string
	closeAfterReply  bool
	wants10KeepAlive bool
	wantsClose       bool
	continueSent     bool
	handlerDone      bool

	ctx        requestContext     // the request's
	cancelBase context.CancelFunc // cancels ctx's Context: see cancel
	bodyState  requestBody        // body's

	watch watchState
}

// cancel cancels the request's context and runs its cancellation hook:
// when the client goes away, and when ServeHTTP returns.
func (w *response) cancel() {
	w.cancelBase()
	w.ctx.hook.fire()
}

// Header implements http.ResponseWriter.
func (w *response) Header() http.Header { return w.handlerHeader }

// WriteHeader implements http.ResponseWriter.
func (w *response) WriteHeader(code int) {
	if w.conn.hijacked || w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 101 || code > 199 {
		w.continueSent = true // no automatic 100 Continue after this
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Informational: written at once, the header map kept (RFC 8297).
		if code == http.StatusContinue {
			if w.continueSent && w.body != nil && w.body.continued {
				return
			}
			w.continueSent = true
			if w.body != nil {
				w.body.continued = true
			}
		}
		writeStatusLine(w.conn.bw, w.req.ProtoAtLeast(1, 1), code)
		writeHeader(w.conn.bw, w.handlerHeader, noBodyHeaders)
		w.conn.bw.Write(crlf)
		w.conn.bw.Flush()
		return
	}
	w.wroteHeader = true
	w.status = code
	// What the handler changes from now on is not sent (but trailers):
	// the header as it is now, into the connection's second map.
	w.sent = w.conn.sentHeader
	clear(w.sent)
	for k, vv := range w.handlerHeader {
		w.sent[k] = vv
	}
	if cl := w.sent.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.contentLength = v
		} else {
			w.conn.srv.logf("h1: invalid Content-Length of %q", cl)
			w.sent.Del("Content-Length")
		}
	}
}

// Write implements http.ResponseWriter.
func (w *response) Write(p []byte) (int, error) {
	if w.conn.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if !w.headerOnWire {
		if len(w.pending)+len(p) <= bufferBeforeChunking {
			if w.pending == nil {
				w.pending = w.conn.pendingBuf()
			}
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.writeHeaderNow(w.pending)
		if err := w.writeBody(w.pending); err != nil {
			return 0, err
		}
		w.pending = w.pending[:0]
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString lets io.WriteString skip a copy.
func (w *response) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// writeBody writes p as body bytes, in a chunk when chunking.
func (w *response) writeBody(p []byte) error {
	if len(p) == 0 || w.req.Method == http.MethodHead {
		return nil
	}
	bw := w.conn.bw
	if w.chunking {
		bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		bw.Write(crlf)
		bw.Write(p)
		_, err := bw.Write(crlf)
		return err
	}
	_, err := bw.Write(p)
	return err
}

// Flush implements http.Flusher: the headers and what is buffered go out.
func (w *response) Flush() {
	w.FlushError()
}

// FlushError is Flush with its error, for http.ResponseController.
func (w *response) FlushError() error {
	if w.conn.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerOnWire {
		w.writeHeaderNow(nil)
		if err := w.writeBody(w.pending); err != nil {
			return err
		}
		w.pending = w.pending[:0]
	}
	return w.conn.bw.Flush()
}

// Hijack implements http.Hijacker (websockets, through the router's
// ReverseProxy): the connection and its buffered bytes are the caller's.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.conn
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.stopWatching()
	c.hijacked = true
	c.rwc.SetDeadline(time.Time{})
	br := c.br
	if br == nil {
		br = bufio.NewReader(c.rwc)
	}
	c.lr.n = -1
	bw := c.bw
	if bw == nil {
		bw = bufio.NewWriter(c.rwc)
	}
	if err := bw.Flush(); err != nil {
		return nil, nil, err
	}
	c.br, c.bw = nil, nil // the caller's now, never back in a pool
	return c.rwc, bufio.NewReadWriter(br, bw), nil
}

// SetReadDeadline and SetWriteDeadline are for http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error  { return w.conn.rwc.SetReadDeadline(t) }
func (w *response) SetWriteDeadline(t time.Time) error { return w.conn.rwc.SetWriteDeadline(t) }

// EnableFullDuplex is for http.ResponseController: an HTTP/1 response may
// be written here while the request body is still read.
func (w *response) EnableFullDuplex() error { return nil }

// writeHeaderNow writes the status line and headers; p is the body
// written so far when the handler has finished (for its length) or is
// about to be written.
func (w *response) writeHeaderNow(p []byte) {
	if w.headerOnWire {
		return
	}
	w.headerOnWire = true
	h := w.sent
	if h == nil {
		h = w.handlerHeader
	}
	isHEAD := w.req.Method == http.MethodHead
	trailers := false
	for k := range w.handlerHeader {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			trailers = true
		}
	}
	for _, v := range h["Trailer"] {
		trailers = true
		for _, f := range strings.Split(v, ",") {
			if f = http.CanonicalHeaderKey(strings.TrimSpace(f)); f != "" && f != "Transfer-Encoding" && f != "Trailer" && f != "Content-Length" {
				w.trailers = append(w.trailers, f)
			}
		}
	}
	te := h.Get("Transfer-Encoding")
	hasTE := te != ""
	var extraCL string
	if w.handlerDone && !trailers && !hasTE && bodyAllowed(w.status) && h.Get("Content-Length") == "" && (!isHEAD || len(p) > 0) {
		w.contentLength = int64(len(p))
		extraCL = strconv.Itoa(len(p))
	}
	if w.wants10KeepAlive && h.Get("Content-Length") != "" && h.Get("Connection") == "keep-alive" {
		w.closeAfterReply = false
	}
	hasCL := w.contentLength != -1
	var connection string
	if w.wants10KeepAlive && (isHEAD || hasCL || !bodyAllowed(w.status)) {
		if _, set := h["Connection"]; !set {
			connection = "keep-alive"
		}
	} else if !w.req.ProtoAtLeast(1, 1) || w.wantsClose {
		w.closeAfterReply = true
	}
	if h.Get("Connection") == "close" || w.conn.srv.shutdown.Load() {
		w.closeAfterReply = true
	}
	var sawEOF, closed bool
	if w.body != nil {
		sawEOF, closed = w.body.state()
	}
	if w.body != nil && w.body.expectContinue && !sawEOF {
		w.closeAfterReply = true // the client may still send what we did not ask for
	}
	if w.req.ContentLength != 0 && !w.closeAfterReply && w.body != nil && !sawEOF {
		switch {
		case closed:
			w.closeAfterReply = true
		default:
			if !w.body.discard() {
				w.closeAfterReply = true
				h.Del("Connection")
				connection = "close"
			}
		}
	}
	var ctype string
	if bodyAllowed(w.status) {
		_, haveType := h["Content-Type"]
		if h.Get("Content-Encoding") == "" && !haveType && !hasTE && len(p) > 0 {
			ctype = http.DetectContentType(p)
		}
	} else {
		for _, k := range suppressed(w.status) {
			h.Del(k)
		}
	}
	if hasCL && hasTE && te != "identity" {
		h.Del("Content-Length")
		hasCL = false
	}
	var transferEncoding string
	switch {
	case isHEAD || !bodyAllowed(w.status):
		h.Del("Transfer-Encoding")
	case hasCL:
		h.Del("Transfer-Encoding")
	case w.req.ProtoAtLeast(1, 1):
		if hasTE && te == "identity" {
			w.closeAfterReply = true
			h.Del("Transfer-Encoding")
		} else {
			w.chunking = true
			transferEncoding = "chunked"
			if hasTE && te == "chunked" {
				h.Del("Transfer-Encoding")
			}
		}
	default:
		w.closeAfterReply = true // HTTP/1.0: the end of the body is the end of the connection
		h.Del("Transfer-Encoding")
	}
	if w.chunking {
		h.Del("Content-Length")
	}
	if w.closeAfterReply && !httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		h.Del("Connection")
		if w.req.ProtoAtLeast(1, 1) {
			connection = "close"
		}
	}

	bw := w.conn.bw
	writeStatusLine(bw, w.req.ProtoAtLeast(1, 1), w.status)
	writeHeader(bw, h, nil)
	if ctype != "" {
		writeField(bw, "Content-Type", ctype)
	}
	if connection != "" {
		writeField(bw, "Connection", connection)
	}
	if transferEncoding != "" {
		writeField(bw, "Transfer-Encoding", transferEncoding)
	}
	if _, ok := h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(httpDate())
		bw.Write(crlf)
	}
	if extraCL != "" {
		writeField(bw, "Content-Length", extraCL)
	}
	bw.Write(crlf)
}

// finish ends the response after the handler returned: headers if none
// went out, the last chunk and trailers, and the buffers flushed.
func (w *response) finish() {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerOnWire {
		w.writeHeaderNow(w.pending)
		w.writeBody(w.pending)
	}
	w.conn.putPendingBuf(w.pending)
	w.pending = nil
	bw := w.conn.bw
	if w.chunking {
		bw.WriteString("0\r\n")
		for _, k := range w.trailers {
			if vv := w.handlerHeader[k]; len(vv) > 0 {
				for _, v := range vv {
					writeField(bw, k, v)
				}
			}
		}
		for k, vv := range w.handlerHeader {
			if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
				for _, v := range vv {
					writeField(bw, name, v)
				}
			}
		}
		bw.Write(crlf)
	}
	if w.contentLength != -1 && w.written != w.contentLength && w.req.Method != http.MethodHead && bodyAllowed(w.status) {
		w.closeAfterReply = true // short body: the client cannot tell where the next response starts
	}
	if err := bw.Flush(); err != nil {
		w.closeAfterReply = true
	}
	if !w.closeAfterReply && w.body != nil && w.req.ContentLength != 0 {
		if sawEOF, closed := w.body.state(); !sawEOF && (closed || !w.body.discard()) {
			w.closeAfterReply = true
		}
	}
}

// pendingBuf and putPendingBuf lend the buffer a response of unknown
// length is held in.
var pendingBufs = sync.Pool{New: func() any { b := make([]byte, 0, bufferBeforeChunking); return &b }}

func (c *conn) pendingBuf() []byte { return (*pendingBufs.Get().(*[]byte))[:0] }

func (c *conn) putPendingBuf(b []byte) {
	if cap(b) == bufferBeforeChunking {
		b = b[:0]
		pendingBufs.Put(&b)
	}
}
