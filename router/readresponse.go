package router

import (
	"bufio"
	"io"
	"net/http"

	"github.com/slipway/slipway/internal/httphead"
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
// A simple response goes into slots when they are not nil, its header
// left in its lines there and res.Header nil (see exchangeSlots): the
// one proxy path adds the lines to the client's response itself.
func readResponse(br *bufio.Reader, req *http.Request, slots *exchangeSlots) (*http.Response, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // as http.ReadResponse says it
		}
		return nil, err
	}
	buf, _ := br.Peek(br.Buffered())
	parsed, n, lines, count := parseSimpleResponse(buf, req)
	if n == 0 {
		return http.ReadResponse(br, req)
	}
	br.Discard(n)
	var res *http.Response
	var lb *lengthBody
	if slots != nil {
		// The header stays in its lines, for forwarded.respond to add
		// to the client's response: a map built here would only be
		// copied into that one.
		slots.lines, slots.count = lines, count
		res, lb = &slots.res, &slots.length
	} else {
		parsed.Header = httphead.Fill(lines, count)
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
	// lines holds the header lines of a simple response in res, count of
	// them, which res.Header (nil) then does not: see forwarded.respond.
	lines string
	count int
}

// rawHeader returns the header lines of res if it is the simple response
// in s (res.Header is nil then).
func (s *exchangeSlots) rawHeader(res *http.Response) (string, int, bool) {
	if res != &s.res || res.Header != nil {
		return "", 0, false
	}
	return s.lines, s.count, true
}

// parseSimpleResponse parses the head at the start of buf if it is a
// simple one (see readResponse) and returns the response, without its
// header and body, the length of the head, and the header's lines as a
// string (for httphead.Fill) and their count; n is 0 if it is not simple.
func parseSimpleResponse(buf []byte, req *http.Request) (res http.Response, n int, lines string, count int) {
	line, fields, n := httphead.Split(buf)
	if n == 0 || (req != nil && req.Method == http.MethodHead) {
		return http.Response{}, 0, "", 0
	}
	// Status line: exactly "HTTP/1.1 ddd" and an optional reason.
	const proto = "HTTP/1.1 "
	if len(line) < len(proto)+3 || string(line[:len(proto)]) != proto {
		return http.Response{}, 0, "", 0
	}
	code := 0
	for _, d := range line[len(proto) : len(proto)+3] {
		if d < '0' || d > '9' {
			return http.Response{}, 0, "", 0
		}
		code = code*10 + int(d-'0')
	}
	// Interim responses, and those without a body whatever their length
	// says, take http.ReadResponse's way.
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return http.Response{}, 0, "", 0
	}
	if len(line) > len(proto)+3 && line[len(proto)+3] != ' ' {
		return http.Response{}, 0, "", 0
	}
	for _, c := range line[len(proto)+3:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return http.Response{}, 0, "", 0
		}
	}

	// Header lines: check them, and count them, before allocating.
	length := int64(-1)
	count, ok := httphead.Lines(fields, func(name, value []byte) bool {
		switch {
		case httphead.Is(name, "Content-Length"):
			if length >= 0 {
				return false // more than one: http.ReadResponse decides
			}
			length = httphead.ParseLength(httphead.TrimOWS(value))
			return length >= 0
		case httphead.Is(name, "Transfer-Encoding"), httphead.Is(name, "Connection"), httphead.Is(name, "Trailer"):
			return false
		}
		return true
	})
	if !ok || length < 0 { // (no length: close-delimited)
		return http.Response{}, 0, "", 0
	}

	head := string(buf[:n]) // the one copy; every value is a part of it
	return http.Response{
		Status:        head[len(proto):len(line)],
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		ContentLength: length,
		Body:          http.NoBody,
		Request:       req,
	}, n, head[len(line)+2 : len(line)+2+len(fields)], count
}

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
