package httpserver

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync/atomic"
)

// net/http takes a request with both Content-Length and Transfer-Encoding
// by its Transfer-Encoding and drops the Content-Length without a trace,
// keeping the connection open; a proxy in front that went by the length
// would then see another request in what slipway takes for the next one
// (request smuggling). RFC 9112 §6.1 says such a connection must be closed;
// nginx answers 400. It also ignores Transfer-Encoding on an HTTP/1.0
// request (so its chunks would be read as the next request), keeps one of
// two equal Content-Lengths, joins a folded header line (obs-fold) to the
// one before, and takes "\tchunked" for chunked, where nginx answers 400
// to each: a Transfer-Encoding other than a plain "chunked" is refused.
// framingConn follows the plain-HTTP request stream, message by message,
// and marks the connection when a request is any of these: the handler
// then answers 400 and closes it, before net/http reads further.
type framingConn struct {
	net.Conn
	state     int
	line      []byte
	first     bool // the next header line is the request line
	http10    bool // the request line is HTTP/1.0 (or 0.9)
	hasCL     bool
	hasTE     bool
	length    int64
	remaining int64
	ambiguous atomic.Bool
}

// States of framingConn.
const (
	fHeaders = iota
	fBody    // Content-Length bytes
	fChunkSize
	fChunkData
	fChunkEnd // the CRLF after a chunk
	fTrailers
	fDone // gave up following: the connection is closed after this request anyway
)

// maxFramingLine bounds a line framingConn keeps; longer ones are cut (the
// header limits refuse them anyway).
const maxFramingLine = 16 << 10

func newFramingConn(c net.Conn) *framingConn { return &framingConn{Conn: c, first: true} }

// NetConn returns the connection it wraps (h1 parks idle ones by their
// socket).
func (c *framingConn) NetConn() net.Conn { return c.Conn }

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.follow(p[:n])
	return n, err
}

// follow reads data as the next bytes of the request stream.
func (c *framingConn) follow(data []byte) {
	for len(data) > 0 {
		switch c.state {
		case fDone:
			return
		case fBody, fChunkData:
			n := int64(len(data))
			if n > c.remaining {
				n = c.remaining
			}
			c.remaining -= n
			data = data[n:]
			if c.remaining == 0 {
				if c.state == fBody {
					c.startHeaders()
				} else {
					c.state = fChunkEnd
				}
			}
		default:
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				c.keep(data)
				return
			}
			// A line that came whole is taken where it is (cut as keep
			// would cut it); only one split across reads is copied.
			line := data[:min(i, maxFramingLine)]
			if len(c.line) > 0 {
				c.keep(data[:i])
				line = c.line
			}
			data = data[i+1:]
			c.endLine(bytes.TrimSuffix(line, []byte("\r")))
			c.line = c.line[:0]
		}
	}
}

func (c *framingConn) keep(b []byte) {
	if room := maxFramingLine - len(c.line); room > 0 {
		c.line = append(c.line, b[:min(len(b), room)]...)
	}
}

func (c *framingConn) startHeaders() {
	c.state, c.first, c.http10, c.hasCL, c.hasTE, c.length = fHeaders, true, false, false, false, 0
}

// endLine takes one line of the state that reads lines.
func (c *framingConn) endLine(line []byte) {
	switch c.state {
	case fHeaders:
		if c.first {
			if len(line) > 0 { // blank lines before a request are allowed
				c.first = false
				c.http10 = !bytes.HasSuffix(bytes.TrimRight(line, " \t"), []byte("HTTP/1.1"))
			}
			return
		}
		if len(line) > 0 {
			if line[0] == ' ' || line[0] == '\t' {
				c.ambiguous.Store(true) // obs-fold: one parser's new line is another's value
				return
			}
			name, value, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				return
			}
			switch name = bytes.TrimSpace(name); {
			case len(name) == len("Content-Length") && bytes.EqualFold(name, []byte("Content-Length")):
				if c.hasCL {
					c.ambiguous.Store(true) // a second one, even if equal
				}
				c.hasCL = true
				c.length, _ = strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
			case len(name) == len("Transfer-Encoding") && bytes.EqualFold(name, []byte("Transfer-Encoding")):
				if c.hasTE || !bytes.EqualFold(bytes.Trim(value, " "), []byte("chunked")) {
					c.ambiguous.Store(true)
				}
				c.hasTE = true
			}
			return
		}
		switch { // the end of the headers
		case c.hasCL && c.hasTE, c.hasTE && c.http10, c.ambiguous.Load():
			c.ambiguous.Store(true)
			c.state = fDone
		case c.hasTE:
			c.state = fChunkSize
		case c.hasCL && c.length > 0:
			c.state, c.remaining = fBody, c.length
		default:
			c.startHeaders()
		}
	case fChunkSize:
		hex, _, _ := bytes.Cut(line, []byte(";"))
		size, err := strconv.ParseInt(string(bytes.TrimSpace(hex)), 16, 64)
		switch {
		case err != nil || size < 0:
			c.state = fDone // net/http refuses it and closes the connection
		case size == 0:
			c.state = fTrailers
		default:
			c.state, c.remaining = fChunkData, size
		}
	case fChunkEnd:
		c.state = fChunkSize
	case fTrailers:
		if len(line) == 0 {
			c.startHeaders()
		}
	}
}

// framingKey is the context key of a connection's framingConn.
type framingKey struct{}

// ambiguousFraming reports whether the request's connection carried a
// request with both Content-Length and Transfer-Encoding.
func ambiguousFraming(ctx context.Context) bool {
	c, ok := ctx.Value(framingKey{}).(*framingConn)
	return ok && c.ambiguous.Load()
}

// framingListener wraps what it accepts in framingConns.
type framingListener struct{ net.Listener }

func (ln framingListener) Accept() (net.Conn, error) {
	c, err := ln.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newFramingConn(c), nil
}
