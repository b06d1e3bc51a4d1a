package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/slipway/slipway/internal/httphead"
	"golang.org/x/net/http/httpguts"
)

// readHead reads the next request's head from br. The usual request, a
// GET or HEAD of an origin-form target over HTTP/1.1, one Host, no body
// (no Content-Length or Transfer-Encoding), no Expect, Pragma or Trailer
// header, and a head whose lines textproto would take as they are (see
// httphead), all of it in the buffer, is parsed in place: one string holds
// the head and every value is a part of it, where net/http's parser
// allocates each line and value. When plain is set, a plain one (see
// simpleHead.plain) comes back as its head alone, req nil, for an
// Exchange. Any other request is left to readRequest with nothing
// consumed: what comes back is what readRequest returns for the same
// bytes, which TestSimpleRequest, FuzzSimpleRequest and the differential
// test against http.Server hold it to.
func readHead(br *bufio.Reader, plain bool) (h simpleHead, req *http.Request, err error) {
	if br.Buffered() == 0 {
		br.Peek(1) // a first read (on a connection, the idle wait's byte and what came with it: see limitReader)
	}
	buf, _ := br.Peek(br.Buffered())
	h, n := scanSimpleRequest(buf)
	if n > 0 && plain && h.plain {
		br.Discard(n)
		return h, nil, nil
	}
	if n > 0 {
		if req = h.request(); req != nil {
			br.Discard(n)
			return h, req, nil
		}
	}
	req, err = readRequest(br)
	return simpleHead{}, req, err
}

var (
	getPrefix  = []byte("GET ")
	headPrefix = []byte("HEAD ")
	protoTail  = []byte(" HTTP/1.1")
)

// simpleHead is a simple request's head, parsed in place: every string is
// a part of head, the one copy.
type simpleHead struct {
	head   string // the whole head, with the blank line that ends it
	method string
	target string
	host   string // the Host header's value
	fields string // the header lines, each with its CRLF
	lines  int    // how many
	// close is set when a Connection header asks to close the connection.
	close bool
	// plain is set for a GET whose target http.Request.URL.RequestURI
	// gives back as it came and whose header has no Connection option
	// but close and keep-alive, no Upgrade and no Te: what a
	// SimpleHandler is offered (see Exchange).
	plain bool
}

// scanSimpleRequest checks that buf starts with a simple request and
// returns its head and length, or a length of 0.
func scanSimpleRequest(buf []byte) (simpleHead, int) {
	line, fields, n := httphead.Split(buf)
	if n == 0 {
		return simpleHead{}, 0
	}
	var method string
	switch {
	case bytes.HasPrefix(line, getPrefix):
		method = http.MethodGet
	case bytes.HasPrefix(line, headPrefix):
		method = http.MethodHead
	default:
		return simpleHead{}, 0
	}
	if len(line) < len(method)+1+len(protoTail) || !bytes.HasSuffix(line, protoTail) {
		return simpleHead{}, 0 // ("GET HTTP/1.1" has both ends)
	}
	target := line[len(method)+1 : len(line)-len(protoTail)]
	if len(target) == 0 || target[0] != '/' {
		return simpleHead{}, 0
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return simpleHead{}, 0
		}
	}
	hosts, hostAt := 0, 0
	closes, other := false, false
	offset := len(line) + 2
	lines, ok := httphead.Lines(fields, func(name, value []byte) bool {
		at := offset
		offset += len(name) + 1 + len(value) + 2
		switch {
		case httphead.Is(name, "Host"):
			hosts++
			hostAt = at + len(name) + 1
		case httphead.Is(name, "Content-Length"), httphead.Is(name, "Transfer-Encoding"), httphead.Is(name, "Expect"),
			httphead.Is(name, "Pragma"), httphead.Is(name, "Trailer"):
			return false
		case httphead.Is(name, "Connection"):
			c, o := connectionOptions(value)
			closes, other = closes || c, other || o
		case httphead.Is(name, "Upgrade"), httphead.Is(name, "Te"):
			other = true
		}
		return true
	})
	if !ok || hosts != 1 {
		return simpleHead{}, 0
	}

	head := string(buf[:n]) // the one copy
	h := simpleHead{
		head:   head,
		method: method,
		target: head[len(method)+1 : len(method)+1+len(target)],
		fields: head[len(line)+2 : len(line)+2+len(fields)],
		lines:  lines,
		close:  closes,
	}
	rest := head[hostAt:]
	h.host = httphead.TrimOWS(rest[:strings.Index(rest, "\r\n")])
	h.plain = method == http.MethodGet && !other && plainTarget(h.target) && httpguts.ValidHostHeader(h.host)
	return h, n
}

// request returns the http.Request net/http's parser makes of h, or nil if
// its target does not parse (never for a plain one: see plainTarget).
func (h *simpleHead) request() *http.Request {
	u, err := url.ParseRequestURI(h.target)
	if err != nil {
		return nil
	}
	hdr := httphead.Fill(h.fields, h.lines)
	return &http.Request{
		Method:     h.method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     hdr,
		Body:       http.NoBody,
		Host:       hdr["Host"][0],
		RequestURI: h.target,
		Close:      h.close,
	}
}

// connectionOptions reads a Connection header's value: whether it says
// close, and whether it names anything but close and keep-alive.
func connectionOptions(v []byte) (closes, other bool) {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		switch tok = httphead.TrimOWS(tok); {
		case len(tok) == 0:
		case httphead.Is(tok, "Close"):
			closes = true
		case httphead.Is(tok, "Keep-Alive"):
		default:
			other = true
		}
	}
	return closes, other
}

// plainTarget reports whether target, an origin-form request target,
// comes back from url.ParseRequestURI's URL.RequestURI as it is, so that
// a handler may pass it on as it came: a path of unreserved characters,
// sub-delimiters, ':', '@', '/' and well-formed escapes, and a query that
// ReverseProxy sends as it is (see httphead.CleanQuery).
func plainTarget(target string) bool {
	i := 0
	for ; i < len(target) && target[i] != '?'; i++ {
		c := target[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/[]", c) >= 0:
		case c == '%':
			if i+2 >= len(target) || !httphead.IsHex(target[i+1]) || !httphead.IsHex(target[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return i >= len(target) || httphead.CleanQuery(target[i+1:])
}
