package httpserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/h1"
	"github.com/slipway/slipway/internal/testutil"
)

// send writes raw to the server and returns the status line of the answer
// and whether the server closed the connection after it.
func send(t *testing.T, addr, raw string) (string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// A closed connection reads EOF at once; an open one would wait.
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err = br.ReadByte()
	return resp.Status, err == io.EOF
}

// simpleOK answers "ok", a plain GET (with the lean server) as an
// h1.Exchange.
type simpleOK struct{}

func (simpleOK) ServeHTTP(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }

func (simpleOK) ServeSimple(x *h1.Exchange) bool {
	bw := x.Begin(http.StatusOK)
	bw.WriteString("Content-Type: text/plain\r\nContent-Length: 2\r\n")
	x.EndHead(false)
	bw.WriteString("ok")
	return true
}

// The limits hold for a handler that serves plain GETs as exchanges too.
func TestServer_HeaderLimits(t *testing.T) {
	testutil.EachHTTPServer(t, func(t *testing.T, lean bool) {
		for name, h := range map[string]http.Handler{
			"handler": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
			"simple":  simpleOK{},
		} {
			// A head longer than the read buffer (4 KB) is never an
			// exchange: 1000 has the exchange's check the lines too.
			for _, line := range []int{DefaultMaxHeaderLine, 1000} {
				t.Run(fmt.Sprint(name, line), func(t *testing.T) { testHeaderLimits(t, h, line, lean) })
			}
		}
	})
}

func testHeaderLimits(t *testing.T, h http.Handler, line int, lean bool) {
	s := New("test", "127.0.0.1:0", h, slog.New(slog.DiscardHandler))
	s.Lean = lean
	s.MaxHeaderLine = line
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	long := strings.Repeat("a", line)
	many := ""
	for i := range 20 {
		many += fmt.Sprintf("X-Filler-%d: %s\r\n", i, strings.Repeat("b", 4000))
	}
	for name, tc := range map[string]struct {
		raw, status string
		closed      bool
	}{
		"ordinary":         {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "200 OK", false},
		"a long header":    {"GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + long + "\r\n\r\n", "431 Request Header Fields Too Large", true},
		"a long URI":       {"GET /" + long + " HTTP/1.1\r\nHost: a\r\n\r\n", "414 Request URI Too Long", true},
		"80 KB of headers": {"GET / HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", "431 Request Header Fields Too Large", true},
		// "X-Edge: " and the value make the limit exactly.
		"a header at the limit":       {"GET / HTTP/1.1\r\nHost: a\r\nX-Edge: " + long[8:] + "\r\n\r\n", "200 OK", false},
		"one beyond the limit":        {"GET / HTTP/1.1\r\nHost: a\r\nX-Edge: " + long[7:] + "\r\n\r\n", "431 Request Header Fields Too Large", true},
		"no blank after the colon":    {"GET / HTTP/1.1\r\nHost: a\r\nX-Edge:" + long[7:] + "\r\n\r\n", "431 Request Header Fields Too Large", true},
		"blanks around a value":       {"GET / HTTP/1.1\r\nHost: a\r\nX-Edge:  " + long[8:] + " \r\n\r\n", "200 OK", false},
		"a request line at the limit": {"GET /" + long[14:] + " HTTP/1.1\r\nHost: a\r\n\r\n", "200 OK", false},
		"a request line beyond it":    {"GET /" + long[13:] + " HTTP/1.1\r\nHost: a\r\n\r\n", "414 Request URI Too Long", true},
	} {
		status, closed := send(t, s.Addr(), tc.raw)
		if status != tc.status || closed != tc.closed {
			t.Errorf("%s: %s, closed %v; want %s, closed %v", name, status, closed, tc.status, tc.closed)
		}
	}
}

// While the server drains, every answer closes its connection, a plain
// GET's to a handler that serves exchanges too.
func TestServer_DrainClosesEachConnectionAfterItsAnswer(t *testing.T) {
	testutil.EachHTTPServer(t, func(t *testing.T, lean bool) {
		s := New("test", "127.0.0.1:0", simpleOK{}, slog.New(slog.DiscardHandler))
		s.Lean = lean
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(t.Context()) })
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		get := func() *http.Response {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			return res
		}
		if res := get(); res.Close {
			t.Fatal("closed before the drain")
		}
		drained := make(chan error, 1)
		go func() { drained <- s.Drain(context.Background(), 10*time.Second) }()
		for !s.draining.Load() {
			runtime.Gosched()
		}
		if res := get(); !res.Close {
			t.Error("an answer while draining did not close its connection")
		}
		if err := <-drained; err != nil {
			t.Errorf("drain: %v", err)
		}
	})
}

// exchange writes raw on one connection and returns the status lines of
// every answer, and whether the server closed the connection.
func exchange(t *testing.T, addr, raw string) ([]string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, raw)
	br := bufio.NewReader(c)
	var statuses []string
	for {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			return statuses, !(errors.As(err, &ne) && ne.Timeout())
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.Status[:3])
	}
}

// The classic request smuggling cases: what reaches the handler (the
// router, and the app behind it), and the connection closed where it must
// be.
func TestServer_SmugglingCases(t *testing.T) {
	testutil.EachHTTPServer(t, func(t *testing.T, lean bool) {
		var mu sync.Mutex
		var seen []string
		s := New("test", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen = append(seen, r.Method+" "+r.URL.Path+" "+string(body))
			mu.Unlock()
		}), slog.New(slog.DiscardHandler))
		s.Lean = lean
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(t.Context()) })
		next := "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
		for name, tc := range map[string]struct {
			raw      string
			statuses string
			reached  string // what the handler saw, ; between requests
			closed   bool
		}{
			"CL.TE": {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + next,
				"400", "", true},
			"TE.CL": {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\nx\r\n0\r\n\r\n" + next,
				"400", "", true},
			"TE.TE obfuscated": {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + next,
				"501", "", true},
			"TE with a space before the colon": {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + next,
				"400", "", true},
			"duplicate CL": {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy" + next,
				"400", "", true},
			"chunk-size overflow": {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n" + next,
				"200", "POST /a ", true},
			"chunked, then pipelined": {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + next,
				"200 200", "POST /a abc;GET /smuggled ", false},
			"bare LF": {"GET /lf HTTP/1.1\nHost: a\n\n" + next,
				"200 200", "GET /lf ;GET /smuggled ", false},
			"bare LF hiding a CL.TE": {"POST /a HTTP/1.1\nHost: a\nContent-Length: 6\nTransfer-Encoding: chunked\n\n0\n\n" + next,
				"400", "", true},
			"CL, then pipelined": {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + next,
				"200 200", "POST /a abc;GET /smuggled ", false},
			// nginx answers 400 to each of these; net/http takes the first
			// two (it ignores Transfer-Encoding on HTTP/1.0, so the chunks
			// would be the next request, and it keeps one of two equal
			// lengths).
			"HTTP/1.0 with TE": {"POST /a HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(next), next),
				"400", "", true},
			"HTTP/1.0 with TE, then CL.TE": {"GET /a HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
				"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + next,
				"400", "", true},
			"folded header": {"GET /a HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n" + next,
				"400", "", true},
			"folded TE": {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + next,
				"400", "", true},
			"TE with a tab": {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n" + next,
				"400", "", true},
			"duplicate equal CL": {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc" + next,
				"400", "", true},
		} {
			mu.Lock()
			seen = nil
			mu.Unlock()
			statuses, closed := exchange(t, s.Addr(), tc.raw)
			mu.Lock()
			reached := strings.Join(seen, ";")
			mu.Unlock()
			if strings.Join(statuses, " ") != tc.statuses || reached != tc.reached || closed != tc.closed {
				t.Errorf("%s: answers %v, handler saw %q, closed %v; want %s, %q, %v", name, statuses, reached, closed, tc.statuses, tc.reached, tc.closed)
			}
		}
		// The ambiguous ones are counted, for slipway_proxy_errors_total.
		if s.FramingRefused() == 0 {
			t.Error("FramingRefused() = 0 after the ambiguous requests")
		}
	})
}
