package router

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
)

// readResponse reads the response to req from br as http.ReadResponse does.
// The common response of an app, a final status over HTTP/1.1 whose whole
// head came in the first read, with one Content-Length, no
// Transfer-Encoding, Connection or Trailer header and nothing unusual in its
// lines, is parsed from the read buffer in place: a string for the head, one
// slice for its values, a map and the body, where http.ReadResponse
// allocates each line and value and three readers (it was the largest part
// of the router's own CPU time a request). Anything else, and anything the
// fast path is unsure of, goes to http.ReadResponse with nothing consumed:
// what the fast path accepts is what http.ReadResponse returns for the same
// bytes, which TestReadResponse and FuzzReadResponse hold it to.
//
// A simple response goes into slots when it is not nil (see exchangeSlots).
func readResponse(br *bufio.Reader, req *http.Request, slots *exchangeSlots) (*http.Response, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // as http.ReadResponse says it
		}
		return nil, err
	}
	buf, _ := br.Peek(br.Buffered())
	parsed, n := parseSimpleResponse(buf, req)
	if n == 0 {
		return http.ReadResponse(br, req)
	}
	br.Discard(n)
	var res *http.Response
	var lb *lengthBody
	if slots != nil {
		res, lb = &slots.res, &slots.length
	} else {
		res = new(http.Response)
		if parsed.ContentLength > 0 {
			lb = new(lengthBody)
		}
	}
	*res = parsed
	if res.ContentLength > 0 {
		*lb = lengthBody{r: br, n: res.ContentLength}
		res.Body = lb
	}
	return res, nil
}

// exchangeSlots is room for what an exchange with an instance makes for
// its response, which an outbound request may carry (forwarded does) to
// spare the exchange the allocations: used for one response at a time.
type exchangeSlots struct {
	res    http.Response
	length lengthBody
	body   connBody
}

// parseSimpleResponse parses the head at the start of buf if it is a
// simple one (see readResponse) and returns the response, without the body
// when it has one, and the length of the head; 0 if it is not simple.
func parseSimpleResponse(buf []byte, req *http.Request) (http.Response, int) {
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 || (req != nil && req.Method == http.MethodHead) {
		return http.Response{}, 0
	}
	n := end + len(crlfcrlf)
	// Status line: exactly "HTTP/1.1 ddd" and an optional reason.
	const proto = "HTTP/1.1 "
	if end < len(proto)+3 || string(buf[:len(proto)]) != proto {
		return http.Response{}, 0
	}
	code := 0
	for _, d := range buf[len(proto) : len(proto)+3] {
		if d < '0' || d > '9' {
			return http.Response{}, 0
		}
		code = code*10 + int(d-'0')
	}
	// Interim responses, and those without a body whatever their length
	// says, take http.ReadResponse's way.
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return http.Response{}, 0
	}
	lineEnd := bytes.Index(buf[:n], crlf)
	if lineEnd > len(proto)+3 && buf[len(proto)+3] != ' ' {
		return http.Response{}, 0
	}
	for _, c := range buf[len(proto)+3 : lineEnd] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return http.Response{}, 0
		}
	}

	// Header lines: count them, and check them, before allocating.
	lines := 0
	length := int64(-1)
	for rest := buf[lineEnd+2 : end+2]; len(rest) > 0; {
		i := bytes.Index(rest, crlf)
		line := rest[:i]
		rest = rest[i+2:]
		name, value, ok := bytes.Cut(line, colon)
		if !ok || !validName(name) || !validValue(value) {
			return http.Response{}, 0
		}
		switch len(name) { // the names that decide the framing, by their length first
		case len("Content-Length"):
			if !bytes.EqualFold(name, []byte("Content-Length")) {
				break
			}
			if length >= 0 {
				return http.Response{}, 0 // more than one: http.ReadResponse decides
			}
			if length = parseLength(trimOWS(value)); length < 0 {
				return http.Response{}, 0
			}
		case len("Transfer-Encoding"), len("Connection"), len("Trailer"):
			if bytes.EqualFold(name, []byte("Transfer-Encoding")) || bytes.EqualFold(name, []byte("Connection")) ||
				bytes.EqualFold(name, []byte("Trailer")) {
				return http.Response{}, 0
			}
		}
		lines++
	}
	if length < 0 {
		return http.Response{}, 0 // close-delimited
	}

	head := string(buf[:end]) // the one copy; every value is a part of it
	values := make([]string, lines)
	h := make(http.Header, lines)
	rest := head[lineEnd+2:]
	for i := 0; i < lines; i++ {
		line := rest
		if j := indexCRLF(rest); j >= 0 {
			line, rest = rest[:j], rest[j+2:]
		}
		colonAt := indexColon(line)
		key := canonicalKey(line[:colonAt])
		values[i] = trimOWS(line[colonAt+1:])
		if prior, ok := h[key]; ok {
			h[key] = append(prior, values[i])
		} else {
			h[key] = values[i : i+1 : i+1]
		}
	}
	return http.Response{
		Status:        head[len(proto):lineEnd],
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: length,
		Body:          http.NoBody,
		Request:       req,
	}, n
}

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
	colon    = []byte(":")
)

func indexCRLF(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\r' && s[i+1] == '\n' {
			return i
		}
	}
	return -1
}

func indexColon(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

// validName reports whether b is a header name of token characters only
// (RFC 9110 §5.6.2), as textproto requires.
func validName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c >= 0x80 || !isTokenTable[c] {
			return false
		}
	}
	return true
}

// validValue reports whether b holds only what textproto allows in a
// header value: visible characters, space, tab and obs-text. A CR or LF
// inside cannot be, as lines end at CRLF and a bare LF makes the head not
// simple (it has no CRLF there).
func validValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f || c == '\n' {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length as net/http does, -1 if it would not
// take it.
func parseLength(b []byte) int64 {
	if len(b) == 0 || len(b) > 18 {
		return -1 // empty, or near where ParseUint(…, 63) overflows: http.ReadResponse decides
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// trimOWS drops the spaces and tabs around a header value, as textproto
// does.
func trimOWS[T string | []byte](s T) T {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey of a valid name, without
// allocating for the names apps usually send.
func canonicalKey(name string) string {
	if k, ok := commonKeys[name]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// commonKeys maps the usual spellings of common response header names to
// their canonical form.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
		"Access-Control-Max-Age", "Age", "Alt-Svc", "Cache-Control", "Connection", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Location", "Content-Range",
		"Content-Security-Policy", "Content-Type", "Date", "Etag", "Expires", "Keep-Alive", "Last-Modified",
		"Link", "Location", "Pragma", "Referrer-Policy", "Retry-After", "Server", "Set-Cookie",
		"Strict-Transport-Security", "Trailer", "Transfer-Encoding", "Vary", "Via", "Www-Authenticate",
		"X-Content-Type-Options", "X-Frame-Options", "X-Powered-By", "X-Request-Id", "X-Xss-Protection",
	} {
		m[k] = k
		m[lower(k)] = k
	}
	m["ETag"] = "Etag"
	m["WWW-Authenticate"] = "Www-Authenticate"
	return m
}()

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// isTokenTable marks the token characters of RFC 9110 §5.6.2.
var isTokenTable = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// lengthBody is the body of a simple response: its Content-Length bytes
// of r, with io.EOF as soon as the last of them is read (as net/http's
// body does, so that the connection goes back to the pool at once) and
// io.ErrUnexpectedEOF if the instance ends it sooner.
type lengthBody struct {
	r *bufio.Reader
	n int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	switch {
	case b.n == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// Close does nothing: connBody decides about the connection.
func (b *lengthBody) Close() error { return nil }
