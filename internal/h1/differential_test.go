package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memConn is a client connection whose request bytes are given at once:
// reads return them and then EOF (the client has sent everything and shut
// its side), writes are kept.
type memConn struct {
	in     *bytes.Reader
	mu     sync.Mutex
	out    bytes.Buffer
	closed chan struct{}
	once   sync.Once
}

func newMemConn(in []byte) *memConn {
	return &memConn{in: bytes.NewReader(in), closed: make(chan struct{})}
}

func (c *memConn) Read(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.in.Read(p)
}

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// oneConn is a listener that hands out one connection, then waits until
// it is closed.
type oneConn struct {
	c    net.Conn
	mu   sync.Mutex
	done chan struct{}
}

func (l *oneConn) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.c
	l.c = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	return nil
}

func (l *oneConn) Addr() net.Addr { return l.c.LocalAddr() }

// outcome is what a server made of a byte stream: what reached the
// handler, request by request, and the status lines it answered with.
type outcome struct {
	Reached  []string
	Statuses []string
}

func (o outcome) String() string {
	return fmt.Sprintf("reached %q, answered %q", o.Reached, o.Statuses)
}

// recorder is the handler both servers run: it reads the whole body and
// records everything of the request a backend would see.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (h *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var keys []string
	for k, vv := range r.Header {
		keys = append(keys, k+"="+strings.Join(vv, "\x00"))
	}
	slices.Sort(keys)
	var trailers []string
	for k, vv := range r.Trailer {
		trailers = append(trailers, k+"="+strings.Join(vv, "\x00"))
	}
	slices.Sort(trailers)
	rec := fmt.Sprintf("%s %q %s host=%q cl=%d te=%q close=%t headers=%q body=%q err=%t trailers=%q",
		r.Method, r.RequestURI, r.Proto, r.Host, r.ContentLength, r.TransferEncoding, r.Close, keys, body, err != nil, trailers)
	h.mu.Lock()
	h.seen = append(h.seen, rec)
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok\n")
}

// serveBytes runs one connection carrying raw through a server: net/http's
// when std, else this package's.
func serveBytes(t testing.TB, raw []byte, std bool) outcome {
	rec := &recorder{}
	mc := newMemConn(raw)
	ln := &oneConn{c: mc, done: make(chan struct{})}
	closed := make(chan struct{})
	state := func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed || s == http.StateHijacked {
			close(closed)
		}
	}
	if std {
		srv := &http.Server{Handler: rec, ConnState: state, ErrorLog: discardLog}
		go srv.Serve(ln)
		defer srv.Close()
	} else {
		srv := &Server{Handler: rec, ConnState: state}
		go srv.Serve(ln)
		defer srv.Close()
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("the connection (std %v) did not end for %q", std, raw)
	}
	ln.Close()
	mc.mu.Lock()
	out := mc.out.Bytes()
	mc.mu.Unlock()
	var statuses []string
	br := bufio.NewReader(bytes.NewReader(out))
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.Status)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return outcome{Reached: rec.seen, Statuses: statuses}
}

// corpus is the malformed and edge-case requests both servers must agree
// on: the classic smuggling cases (CL.TE, TE.CL, TE.TE), framing,
// header syntax, request lines, versions, Host, Expect, pipelining.
func corpus() map[string]string {
	const next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	c := map[string]string{
		"simple":                      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"pipelined":                   "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		"CL.TE":                       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG" + next,
		"TE.CL":                       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\nx\r\n0\r\n\r\n" + next,
		"TE.TE two headers":           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + next,
		"TE.TE list":                  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + next,
		"TE gzip, chunked":            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + next,
		"TE chunked, gzip":            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" + next,
		"TE space before colon":       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + next,
		"TE tab value":                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n" + next,
		"TE uppercase":                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n" + next,
		"TE xchunked":                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + next,
		"TE chunked trailing space":   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n" + next,
		"TE empty":                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n" + next,
		"TE identity":                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 1\r\n\r\nx" + next,
		"TE obs-fold":                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + next,
		"TE vertical tab":             "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\vchunked\r\n\r\n0\r\n\r\n" + next,
		"TE HTTP/1.0":                 "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
		"duplicate CL":                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy" + next,
		"duplicate CL same":           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nxy" + next,
		"CL list":                     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nxy" + next,
		"CL negative":                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" + next,
		"CL plus sign":                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\nxy" + next,
		"CL hex":                      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x2\r\n\r\nxy" + next,
		"CL leading zeros":            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 002\r\n\r\nxy" + next,
		"CL spaces":                   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  2  \r\n\r\nxy" + next,
		"CL empty":                    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n" + next,
		"CL huge":                     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n" + next,
		"CL short body":               "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
		"CL zero":                     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" + next,
		"CL on GET":                   "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + next,
		"CL space before colon":       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc" + next,
		"CL then body then pipeline":  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + next,
		"chunked":                     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + next,
		"chunked with trailer":        "POST / HTTP/1.1\r\nHost: a\r\nTrailer: X-T\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: v\r\n\r\n" + next,
		"chunked undeclared trailer":  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-U: v\r\n\r\n" + next,
		"chunk extension":             "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;name=value\r\nabc\r\n0\r\n\r\n" + next,
		"chunk extension quoted":      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"b;c\"\r\nabc\r\n0\r\n\r\n" + next,
		"chunk size uppercase hex":    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n" + next,
		"chunk size leading zeros":    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0003\r\nabc\r\n0\r\n\r\n" + next,
		"chunk size overflow":         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n" + next,
		"chunk size negative":         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n" + next,
		"chunk size space":            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n" + next,
		"chunk size 0x":               "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n" + next,
		"chunk data too long":         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n" + next,
		"chunk missing CRLF":          "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc0\r\n\r\n" + next,
		"chunk bare LF":               "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n" + next,
		"chunked no last chunk":       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
		"last chunk no CRLF":          "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
		"bare LF request":             "GET /lf HTTP/1.1\nHost: a\n\n" + next,
		"bare CR in header":           "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n" + next,
		"bare LF hiding CL.TE":        "POST / HTTP/1.1\nHost: a\nContent-Length: 6\nTransfer-Encoding: chunked\n\n0\n\n" + next,
		"obs-fold":                    "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n" + next,
		"obs-fold tab":                "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n\tb\r\n\r\n" + next,
		"leading whitespace header":   "GET / HTTP/1.1\r\n Host: a\r\n\r\n" + next,
		"header no colon":             "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n" + next,
		"header empty name":           "GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n" + next,
		"header name with space":      "GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n" + next,
		"header name with slash":      "GET / HTTP/1.1\r\nHost: a\r\nX/Y: z\r\n\r\n" + next,
		"header name underscore":      "GET / HTTP/1.1\r\nHost: a\r\nX_Y: z\r\n\r\n" + next,
		"header name non-ASCII":       "GET / HTTP/1.1\r\nHost: a\r\nX-\xe9: z\r\n\r\n" + next,
		"header value NUL":            "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n" + next,
		"header value DEL":            "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n" + next,
		"header value ctl":            "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n" + next,
		"header value UTF-8":          "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n" + next,
		"header value latin-1":        "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n" + next,
		"header value tab":            "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n" + next,
		"header value empty":          "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n" + next,
		"repeated header":             "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nX: 2\r\n\r\n" + next,
		"lowercase names":             "GET / HTTP/1.1\r\nhost: a\r\nx-lower: v\r\n\r\n" + next,
		"no Host HTTP/1.1":            "GET / HTTP/1.1\r\n\r\n" + next,
		"no Host HTTP/1.0":            "GET / HTTP/1.0\r\n\r\n",
		"two Hosts":                   "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + next,
		"empty Host":                  "GET / HTTP/1.1\r\nHost:\r\n\r\n" + next,
		"Host with port":              "GET / HTTP/1.1\r\nHost: a:8080\r\n\r\n" + next,
		"Host bad chars":              "GET / HTTP/1.1\r\nHost: a b\r\n\r\n" + next,
		"Host with slash":             "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n" + next,
		"Host with userinfo":          "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n" + next,
		"Host IPv6":                   "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n" + next,
		"Host non-ASCII":              "GET / HTTP/1.1\r\nHost: caf\xc3\xa9.test\r\n\r\n" + next,
		"absolute URI":                "GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"absolute URI no Host":        "GET http://b/x HTTP/1.1\r\n\r\n" + next,
		"absolute URI https":          "GET https://b/x HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"asterisk OPTIONS":            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"asterisk GET":                "GET * HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"CONNECT authority":           "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
		"CONNECT no Host":             "CONNECT a:443 HTTP/1.1\r\n\r\n",
		"path traversal":              "GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"encoded path":                "GET /%2e%2e/%00 HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"bad percent":                 "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"space in path":               "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"fragment":                    "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"query":                       "GET /a?b=c&d HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"no path":                     "GET HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"relative path":               "GET a HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"lowercase method":            "get / HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"odd method":                  "PURGE / HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"method with slash":           "G/T / HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"HEAD":                        "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"HTTP/1.0":                    "GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"HTTP/1.0 keep-alive":         "GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\nHost: a\r\n\r\n",
		"HTTP/1.1 close":              "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + next,
		"Connection close list":       "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n" + next,
		"HTTP/0.9":                    "GET /\r\n\r\n",
		"HTTP/2.0":                    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
		"HTTP/2 preface":              "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"HTTP/1.2":                    "GET / HTTP/1.2\r\nHost: a\r\n\r\n" + next,
		"HTTP/3.0":                    "GET / HTTP/3.0\r\nHost: a\r\n\r\n",
		"lowercase version":           "GET / http/1.1\r\nHost: a\r\n\r\n" + next,
		"version no minor":            "GET / HTTP/1\r\nHost: a\r\n\r\n" + next,
		"version spaces":              "GET /  HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"two spaces after method":     "GET  / HTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"tab separators":              "GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n" + next,
		"trailing space in line":      "GET / HTTP/1.1 \r\nHost: a\r\n\r\n" + next,
		"leading CRLF":                "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"CRLF after POST":             "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx\r\n" + next,
		"garbage":                     "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
		"empty line only":             "\r\n\r\n",
		"incomplete headers":          "GET / HTTP/1.1\r\nHost: a\r\n",
		"incomplete request line":     "GET / HT",
		"Expect 100-continue":         "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc" + next,
		"Expect 100-continue no body": "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n" + next,
		"Expect other":                "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\nabc" + next,
		"Expect 100-continue 1.0":     "POST / HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
		"Expect mixed case":           "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\nabc" + next,
		"Pragma no-cache":             "GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n" + next,
		"Upgrade h2c":                 "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n" + next,
		"Upgrade websocket":           "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" + next,
		"cookie":                      "GET / HTTP/1.1\r\nHost: a\r\nCookie: a=b; slipway_affinity=x\r\n\r\n" + next,
		"long header name":            "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X", 5000) + ": v\r\n\r\n" + next,
		"many headers":                "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-Many: v\r\n", 300) + "\r\n" + next,
		"headers just under limit":    "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", DefaultMaxHeaderBytes-100) + "\r\n\r\n" + next,
		"headers over the limit":      "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", DefaultMaxHeaderBytes+8192) + "\r\n\r\n" + next,
		"long request line":           "GET /" + strings.Repeat("a", 70000) + " HTTP/1.1\r\nHost: a\r\n\r\n" + next,
	}
	// Every framing header twice over, on a POST with a body that could
	// be read either way.
	for _, te := range []string{"chunked", "Chunked", "chunked,", ",chunked", "chunked;q=1", "\"chunked\""} {
		c["TE "+te] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + te + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + next
		c["CL and TE "+te] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: " + te + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + next
	}
	return c
}

var discardLog = newDiscardLog()

// The lean server agrees with net/http's on every request of the corpus:
// the same requests reach the handler, with the same method, target,
// version, Host, headers, body and trailers, and the same answers go out,
// so no byte stream is one request to one and two to the other.
func TestDifferential_Corpus(t *testing.T) {
	cases := corpus()
	if len(cases) < 100 {
		t.Fatalf("the corpus has %d cases, want at least 100", len(cases))
	}
	for name, raw := range cases {
		std, lean := serveBytes(t, []byte(raw), true), serveBytes(t, []byte(raw), false)
		if std.String() != lean.String() {
			t.Errorf("%s: %q\nnet/http: %s\nh1:       %s", name, raw, std, lean)
		}
	}
}

// FuzzDifferential holds the lean server to net/http's on any byte
// stream: go test -fuzz FuzzDifferential ./internal/h1.
func FuzzDifferential(f *testing.F) {
	for _, raw := range corpus() {
		if len(raw) < 4096 {
			f.Add([]byte(raw))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		std, lean := serveBytes(t, raw, true), serveBytes(t, raw, false)
		if std.String() != lean.String() {
			t.Errorf("%q\nnet/http: %s\nh1:       %s", raw, std, lean)
		}
	})
}

func newDiscardLog() *log.Logger { return log.New(io.Discard, "", 0) }
