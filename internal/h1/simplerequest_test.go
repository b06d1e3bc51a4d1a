package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slipway/slipway/internal/httphead"
)

// readBoth reads in as the server does for a plain http.Handler
// (readHead) and with readRequest alone, and describes what each gave: the
// request and what was left to read.
func readBoth(in []byte) (fast, std string, simple bool) {
	h, n := scanSimpleRequest(in[:min(len(in), 4096)]) // what the first read brings
	simple = n > 0 && h.request() != nil
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
		_, req, err := readHead(br, false)
		return req, err
	}
	return describe(server), describe(readRequest), simple
}

// plainDiffers returns how the plain request in (the first of its head's
// bytes a read brings) differs from what net/http's parser reads, "" if it
// does not or in is not plain: what an Exchange gives a SimpleHandler is
// the parsed request's, its target comes back from URL.RequestURI as it
// is (the router passes it on as it came), and it has none of the headers
// a plain request must not have.
func plainDiffers(in []byte) string {
	h, n := scanSimpleRequest(in[:min(len(in), 4096)])
	if n == 0 || !h.plain {
		return ""
	}
	req, err := readRequest(bufio.NewReader(bytes.NewReader(in)))
	if err != nil {
		return "net/http refuses it: " + err.Error()
	}
	switch {
	case req.Method != http.MethodGet || h.method != req.Method:
		return "method " + req.Method
	case h.target != req.RequestURI || req.URL.RequestURI() != h.target:
		return fmt.Sprintf("target %q: RequestURI %q, URL.RequestURI %q", h.target, req.RequestURI, req.URL.RequestURI())
	case h.host != req.Host || len(req.Header["Host"]) != 1:
		return fmt.Sprintf("host %q, net/http's %q", h.host, req.Host)
	case h.close != req.Close:
		return fmt.Sprintf("close %v, net/http's %v", h.close, req.Close)
	case fmt.Sprint(httphead.Fill(h.fields, h.lines)) != fmt.Sprint(req.Header):
		return fmt.Sprintf("header %v, net/http's %v", httphead.Fill(h.fields, h.lines), req.Header)
	case len(req.Header["Upgrade"]) > 0 || len(req.Header["Te"]) > 0 || req.ContentLength != 0 || len(req.TransferEncoding) > 0:
		return "a header a plain request must not have"
	}
	for _, v := range req.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.ToLower(strings.TrimSpace(tok)); tok != "" && tok != "close" && tok != "keep-alive" {
				return "Connection option " + tok
			}
		}
	}
	return ""
}

// What the server reads is what net/http's parser reads, for requests the
// fast path parses and for those it leaves to the parser.
func TestSimpleRequest(t *testing.T) {
	const next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, tc := range []struct {
		in            string
		simple, plain bool
	}{
		{in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n" + next, simple: true, plain: true},
		{in: "HEAD /x?y=1&z=%20 HTTP/1.1\r\nhost: example.com:8080\r\nUser-Agent: t\r\naccept: */*\r\n\r\n", simple: true},
		{in: "GET /a/b%2Fc;p?q#f HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"},
		{in: "GET /a/b%2Fc;p?q HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Sp: \t v \t\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n", simple: true, plain: true},
		{in: "GET /a|b HTTP/1.1\r\nHost: a\r\n\r\n", simple: true},          // RequestURI escapes the |
		{in: "GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", simple: true},         // and the "
		{in: "GET /%41%2f?q=%zz HTTP/1.1\r\nHost: a\r\n\r\n", simple: true}, // ReverseProxy re-encodes the query
		{in: "GET /x?a=1;b=2 HTTP/1.1\r\nHost: a\r\n\r\n", simple: true},    // and this one
		{in: "GET /~u/[x]:@!$&'()*+,;=?a=%41&b=/? HTTP/1.1\r\nHost: a\r\n\r\n", simple: true, plain: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nTe: trailers\r\n\r\n", simple: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret\r\nX-Secret: s\r\n\r\n", simple: true},
		{in: "GET / HTTP/1.1\r\nHost: a:8080\r\nConnection: ,keep-alive,\r\n\r\n", simple: true, plain: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", simple: true, plain: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", simple: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xc3\xa9\r\n\r\n", simple: true, plain: true},
		{in: "GET / HTTP/1.1\r\nHost: a\r\nCONNECTION: CLOSE\r\n\r\n", simple: true, plain: true},
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
		if d := plainDiffers([]byte(tc.in)); d != "" {
			t.Errorf("%q: plain, but %s", tc.in, d)
		}
		if h, _ := scanSimpleRequest([]byte(tc.in)[:min(len(tc.in), 4096)]); h.plain != tc.plain {
			t.Errorf("%q: plain %v, want %v", tc.in, h.plain, tc.plain)
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
		if d := plainDiffers(in); d != "" {
			t.Errorf("%q: plain, but %s", in, d)
		}
	})
}
