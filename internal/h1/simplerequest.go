package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"

	"github.com/slipway/slipway/internal/httphead"
	"golang.org/x/net/http/httpguts"
)

// readSimpleRequest is readRequest for the usual request, parsed in place
// from what br has buffered: a GET or HEAD of an origin-form target over
// HTTP/1.1, one Host, no body (no Content-Length or Transfer-Encoding), no
// Expect, Pragma or Trailer header, and a head whose lines textproto would
// take as they are (see httphead), all of it in the buffer. One string
// holds the head and every value is a part of it, where net/http's parser
// allocates each line and value. It returns nil with nothing consumed for
// any other request, which readRequest then reads: what it returns is what
// readRequest returns for the same bytes, which TestSimpleRequest,
// FuzzSimpleRequest and the differential test against http.Server hold it
// to.
func readSimpleRequest(br *bufio.Reader) *http.Request {
	buf, _ := br.Peek(br.Buffered())
	req, n := parseSimpleRequest(buf)
	if req != nil {
		br.Discard(n)
	}
	return req
}

var (
	getPrefix  = []byte("GET ")
	headPrefix = []byte("HEAD ")
	protoTail  = []byte(" HTTP/1.1")
)

// parseSimpleRequest parses the simple request at the start of buf and
// returns it and the length of its head, or nil.
func parseSimpleRequest(buf []byte) (*http.Request, int) {
	line, fields, n := httphead.Split(buf)
	if n == 0 {
		return nil, 0
	}
	var method string
	switch {
	case bytes.HasPrefix(line, getPrefix):
		method = http.MethodGet
	case bytes.HasPrefix(line, headPrefix):
		method = http.MethodHead
	default:
		return nil, 0
	}
	if len(line) < len(method)+1+len(protoTail) || !bytes.HasSuffix(line, protoTail) {
		return nil, 0 // ("GET HTTP/1.1" has both ends)
	}
	target := line[len(method)+1 : len(line)-len(protoTail)]
	if len(target) == 0 || target[0] != '/' {
		return nil, 0
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return nil, 0
		}
	}
	hosts := 0
	lines, ok := httphead.Lines(fields, func(name, _ []byte) bool {
		switch {
		case httphead.Is(name, "Host"):
			hosts++
		case httphead.Is(name, "Content-Length"), httphead.Is(name, "Transfer-Encoding"), httphead.Is(name, "Expect"),
			httphead.Is(name, "Pragma"), httphead.Is(name, "Trailer"):
			return false
		}
		return true
	})
	if !ok || hosts != 1 {
		return nil, 0
	}

	head := string(buf[:n]) // the one copy
	uri := head[len(method)+1 : len(method)+1+len(target)]
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, 0
	}
	h := httphead.Fill(head[len(line)+2:len(line)+2+len(fields)], lines)
	return &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       http.NoBody,
		Host:       h["Host"][0],
		RequestURI: uri,
		Close:      httpguts.HeaderValuesContainsToken(h["Connection"], "close"),
	}, n
}
