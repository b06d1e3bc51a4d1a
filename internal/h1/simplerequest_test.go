package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// readBoth reads in as the server does (readSimpleRequest, then
// readRequest when that declines) and with readRequest alone, and
// describes what each gave: the request and what was left to read.
func readBoth(in []byte) (fast, std string, simple bool) {
	_, n := parseSimpleRequest(in[:min(len(in), 4096)]) // what the first read brings
	simple = n > 0
	describe := func(read func(*bufio.Reader) (*http.Request, error)) string {
		br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		req, err := read(br)
		if err != nil {
			return "error " + err.Error()
		}
		body, berr := io.ReadAll(req.Body)
		rest, _ := io.ReadAll(br)
		return fmt.Sprintf("%q %q %q %d.%d url %#v header %v host %q close %v length %d te %v trailer %v body %q (%v) nobody %v rest %q",
			req.Method, req.RequestURI, req.Proto, req.ProtoMajor, req.ProtoMinor, *req.URL, req.Header, req.Host, req.Close,
			req.ContentLength, req.TransferEncoding, req.Trailer, body, berr, req.Body == http.NoBody, rest)
	}
	server := func(br *bufio.Reader) (*http.Request, error) {
		if req := readSimpleRequest(br); req != nil {
			return req, nil
		}
		return readRequest(br)
	}
	return describe(server), describe(readRequest), simple
}

// What the server reads is what net/http's parser reads, for requests the
// fast path parses and for those it leaves to the parser.
func TestSimpleRequest(t *testing.T) {
	const next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, tc := range []struct {
		in     string
		simple bool
	}{
		{in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n" + next, simple: true},
		{in: "HEAD /x?y=1&z=%20 HTTP/1.1\r\nhost: example.com:8080\r\nUser-Agent: t\r\naccept: */*\r\n\r\n", simple: true},
		{in: "GET /a/b%2Fc;p?q#f HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET /a/b%2Fc;p?q HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Sp: \t v \t\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n", simple: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", simple: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", simple: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xc3\xa9\r\n\r\n", simple: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nCONNECTION: CLOSE\r\n\r\n", simple: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nX: y\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nTrailer: X\r\n\r\n"},
		{in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"},
		{in: "get / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET / HTTP/1.0\r\nHost: a\r\n\r\n"},
		{in: "GET / HTTP/1.10\r\nHost: a\r\n\r\n"},
		{in: "GET http://b/c HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET * HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET / x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\n Host: a\r\n\r\n"},
		{in: "GET / HTTP/1.1\nHost: a\n\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nX\x00: b\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nX Y: b\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"},
		{in: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", simple: true}, // the server's Host check refuses it after
		{in: "GET / HTTP/1.1\r\nHost: a\r\n"},
		{in: ""},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + strings.Repeat("v", 5000) + "\r\n\r\n"},
	} {
		fast, std, simple := readBoth([]byte(tc.in))
		if fast != std {
			t.Errorf("%q:\n  server: %s\n  net/http: %s", tc.in, fast, std)
		}
		if simple != tc.simple {
			t.Errorf("%q: parsed by the fast path %v, want %v", tc.in, simple, tc.simple)
		}
	}
}

// go test -fuzz FuzzSimpleRequest ./internal/h1: whatever the bytes, the
// server reads what net/http's parser reads.
func FuzzSimpleRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("HEAD /x?y=1&z=%20 HTTP/1.1\r\nhost: example.com:8080\r\nUser-Agent: t\r\nConnection: close\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if fast, std, _ := readBoth(in); fast != std {
			t.Errorf("%q:\n  server: %s\n  net/http: %s", in, fast, std)
		}
	})
}
