package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// readBoth reads in with readResponse and with http.ReadResponse and
// describes what each gave: the response, its body, and what was left to
// read after it.
func readBoth(in []byte, method string) (fast, std string, simple bool) {
	req := &http.Request{Method: method}
	if _, n, _, _ := parseSimpleResponse(in[:min(len(in), 4096)], req); n > 0 { // what the first read brings
		simple = true
	}
	describe := func(read func(*bufio.Reader, *http.Request) (*http.Response, error)) string {
		br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		res, err := read(br, req)
		if err != nil {
			return "error " + err.Error()
		}
		body, berr := io.ReadAll(res.Body)
		rest, _ := io.ReadAll(br)
		return fmt.Sprintf("%q %d %q %d.%d header %v length %d close %v te %v trailer %v uncompressed %v body %q (%v) rest %q",
			res.Status, res.StatusCode, res.Proto, res.ProtoMajor, res.ProtoMinor, res.Header, res.ContentLength,
			res.Close, res.TransferEncoding, res.Trailer, res.Uncompressed, body, berr, rest)
	}
	return describe(func(br *bufio.Reader, req *http.Request) (*http.Response, error) { return readResponse(br, req, nil) }),
		describe(http.ReadResponse), simple
}

// What the router's response reader returns is what http.ReadResponse
// returns, for responses it parses itself and for those it leaves to
// http.ReadResponse.
func TestReadResponse(t *testing.T) {
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
	for _, tc := range []struct {
		in     string
		method string
		simple bool // parsed by the fast path
	}{
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello" + next, simple: true},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + next, simple: true},
		{in: "HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\nx-custom-thing: a\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nnop", simple: true},
		{in: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", simple: true},
		{in: "HTTP/1.1 200 OK\r\nContent-Length:  7 \t\r\nX-Empty:\r\nX-Spaces: \t a b \t\r\n\r\n1234567", simple: true},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n1234567", simple: true},
		{in: "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 10\r\n\r\nshort", simple: true}, // cut short
		{in: "HTTP/1.1 200 OK\r\nX-Obs: caf\xc3\xa9\r\nContent-Length: 1\r\n\r\nx", simple: true},
		{in: "HTTP/1.1 200 OK\r\nETag: \"x\"\r\nWWW-Authenticate: Basic\r\nCONTENT-TYPE: a/b\r\nContent-Length: 1\r\n\r\nx", simple: true},
		{in: "HTTP/1.1 600 Odd\r\nContent-Length: 1\r\n\r\nx", simple: true},
		{in: "HTTP/1.1 200 OK\r\n\r\nclose-delimited"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", method: http.MethodHead},
		{in: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n" + next},
		{in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n" + next},
		{in: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + next},
		{in: "HTTP/1.1 100 Continue\r\n\r\n" + next},
		{in: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + next},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nTrailer: X-T\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Folded: a\r\n b\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\n Leading: space\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 2\nX-Bare: lf\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
		{in: "HTTP/1.1 200 OK\r\nX-Bad\x01: v\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nX-Bad: v\x01\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nX-CR: a\rb\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nX-Del: \x7f\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nX Space: v\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nX-Space : v\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\n: no name\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nX-\xc3\xa9: v\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 O\x00K\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"}, // head cut short
		{in: ""},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Long: " + strings.Repeat("v", 5000) + "\r\n\r\nok"}, // past the first read
	} {
		fast, std, simple := readBoth([]byte(tc.in), tc.method)
		if fast != std {
			t.Errorf("%q:\n  router: %s\n  net/http: %s", tc.in, fast, std)
		}
		if simple != tc.simple {
			t.Errorf("%q: parsed by the fast path %v, want %v", tc.in, simple, tc.simple)
		}
	}
}

// The head of a simple response is parsed without an allocation per line,
// with fewer allocations than http.ReadResponse makes.
func TestReadResponse_Allocations(t *testing.T) {
	one := "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n"
	five := "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Date: Tue, 01 Dec 2026 17:00:00 GMT\r\nX-App: a\r\nX-Other: b\r\n\r\nhello world\n"
	req := &http.Request{Method: http.MethodGet}
	br := bufio.NewReaderSize(nil, 4096)
	sr := strings.NewReader("")
	var buf [64]byte
	allocs := func(in string, read func(*bufio.Reader, *http.Request) (*http.Response, error)) float64 {
		return testing.AllocsPerRun(100, func() {
			sr.Reset(in)
			br.Reset(sr)
			res, err := read(br, req)
			if err != nil {
				t.Fatal(err)
			}
			for err == nil {
				_, err = res.Body.Read(buf[:])
			}
		})
	}
	var slots exchangeSlots
	fast := func(br *bufio.Reader, req *http.Request) (*http.Response, error) { return readResponse(br, req, nil) }
	inSlots := func(br *bufio.Reader, req *http.Request) (*http.Response, error) {
		return readResponse(br, req, &slots)
	}
	fastOne, fastFive, slotted := allocs(one, fast), allocs(five, fast), allocs(five, inSlots)
	std := allocs(five, http.ReadResponse)
	// Into slots (the router's own path), only the head's string: the
	// header stays in its lines until it is added to the client's.
	if fastFive != fastOne || fastFive > std/2 || slotted != 1 {
		t.Errorf("readResponse: %.0f allocations with one header line, %.0f with five, %.0f into slots; http.ReadResponse %.0f with five",
			fastOne, fastFive, slotted, std)
	}
}

// go test -fuzz FuzzReadResponse ./router: whatever the bytes, the router's
// reader returns what http.ReadResponse does.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhelloHTTP/1.1 200 OK\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nnop"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Folded: a\r\n b\r\n\r\nok"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), true)
	f.Add([]byte("HTTP/1.1 200 OK\r\nX: \xc3\xa9 \t\r\nContent-Length: 007\r\n\r\n1234567"), false)
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		if fast, std, _ := readBoth(in, method); fast != std {
			t.Errorf("%q:\n  router: %s\n  net/http: %s", in, fast, std)
		}
	})
}
