package httpserver

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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

func TestServer_HeaderLimits(t *testing.T) {
	s := New("test", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), slog.New(slog.DiscardHandler))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	long := strings.Repeat("a", DefaultMaxHeaderLine)
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
	} {
		status, closed := send(t, s.Addr(), tc.raw)
		if status != tc.status || closed != tc.closed {
			t.Errorf("%s: %s, closed %v; want %s, closed %v", name, status, closed, tc.status, tc.closed)
		}
	}
}
