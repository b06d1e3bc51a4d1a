package httpserver

import (
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slipway/slipway/internal/h1"
)

// simpleCounter is a handler that serves exchanges too, counting how each
// request came.
type simpleCounter struct{ simple, std atomic.Int64 }

func (c *simpleCounter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.std.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func (c *simpleCounter) ServeSimple(x *h1.Exchange) bool {
	c.simple.Add(1)
	w, _ := x.Writer()
	w.WriteHeader(http.StatusNoContent)
	return true
}

// interceptingFront answers paths under /mine/ itself and passes the rest
// on, as certs' front does with challenges.
type interceptingFront struct{ next http.Handler }

func (f interceptingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/mine/") {
		w.WriteHeader(http.StatusTeapot)
		return
	}
	f.next.ServeHTTP(w, r)
}

func (f interceptingFront) Intercepts(_, target string) bool {
	return strings.HasPrefix(target, "/mine/")
}

func (f interceptingFront) Unwrap() http.Handler { return f.next }

// A plain GET reaches the SimpleHandler a front handler wraps as an
// exchange, unless the front intercepts it, which then sees it as a
// request.
// Exchanges are the lean server's: this test serves with it only.
func TestServer_ExchangesPassFrontHandlersThatDoNotInterceptThem(t *testing.T) {
	inner := &simpleCounter{}
	s := New("test", "127.0.0.1:0", interceptingFront{next: inner}, slog.New(slog.DiscardHandler))
	s.Lean = true
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	if got, _ := exchange(t, s.Addr(), "GET /app HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); strings.Join(got, " ") != "204" {
		t.Errorf("GET /app: %v", got)
	}
	if got, _ := exchange(t, s.Addr(), "GET /mine/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); strings.Join(got, " ") != "418" {
		t.Errorf("GET /mine/x: %v", got)
	}
	if got, want := inner.simple.Load(), int64(1); got != want {
		t.Errorf("%d exchanges reached the inner handler, want %d", got, want)
	}
	if got := inner.std.Load(); got != 0 {
		t.Errorf("%d requests reached the inner handler's ServeHTTP, want 0", got)
	}
}
