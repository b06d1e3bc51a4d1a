package router

import (
	"fmt"
	"strings"
	"testing"
)

// What a client sends that nginx cleans at the edge, the router cleans on
// every path: the lean server's plain GET, the router's own path (a small
// body) and ReverseProxy (a chunked body).
func TestRouter_DropsHeaderNamesWithUnderscores(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, _, srv := routerFor(t)
		app := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}})
		lies := "X_Forwarded_For: 6.6.6.6\r\nx_forwarded_proto: https\r\nX_Forwarded_Host: evil.test\r\nTrue_Client_IP: 6.6.6.6\r\nX_Real_IP: 6.6.6.6\r\nX-Kept_Not: 1\r\nX-Kept: k\r\n"
		for name, req := range map[string]string{
			"plain GET":    "GET / HTTP/1.1\r\nHost: web.apps.test\r\n" + lies + "\r\n",
			"small body":   "POST / HTTP/1.1\r\nHost: web.apps.test\r\n" + lies + "Content-Length: 2\r\n\r\nhi",
			"chunked body": "POST / HTTP/1.1\r\nHost: web.apps.test\r\n" + lies + "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
			"HTTP/1.0":     "GET / HTTP/1.0\r\nHost: web.apps.test\r\n" + lies + "\r\n",
		} {
			t.Run(name, func(t *testing.T) {
				got, sent := rawExchange(t, srv, req, app)
				if !strings.Contains(got, "200 OK") {
					t.Fatalf("client got %q", got)
				}
				head, _, _ := strings.Cut(sent, "\n\n")
				for line := range strings.SplitSeq(head, "\n") {
					if k, _, ok := strings.Cut(line, ":"); ok && strings.Contains(k, "_") {
						t.Errorf("the app got %q", line)
					}
				}
				for _, want := range []string{"X-Kept: k", "X-Forwarded-For: 127.0.0.1", "X-Forwarded-Proto: http", "X-Forwarded-Host: web.apps.test"} {
					if !strings.Contains(head, want) {
						t.Errorf("the app's head lacks %q:\n%s", want, head)
					}
				}
				if n := strings.Count(head, "X-Forwarded-For"); n != 1 {
					t.Errorf("the app got %d X-Forwarded-For lines, want 1:\n%s", n, head)
				}
			})
		}
	})
}

// A chunked body that fits the direct path's buffer is read whole and
// sent with a Content-Length, as nginx sends every body: the app never
// reads chunks the client framed; one framed wrongly gets 400, and the
// app nothing.
func TestRouter_SendsSmallChunkedBodyWithLength(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, _, srv := routerFor(t)
		app := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}})
		_, sent := rawExchange(t, srv, "POST /c HTTP/1.1\r\nHost: web.apps.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", app)
		head, body, _ := strings.Cut(sent, "\n\n")
		if !strings.Contains(head, "Content-Length: 5") || strings.Contains(head, "Transfer-Encoding") || body != "abcde" {
			t.Errorf("the app got:\n%s", sent)
		}

		for name, chunks := range map[string]string{
			"bad size":           "g\r\nabc\r\n0\r\n\r\n",
			"data past its size": "3\r\nabcdef\r\n0\r\n\r\n",
			"size overflow":      "fffffffffffffffff3\r\nabc\r\n0\r\n\r\n",
		} {
			got := converse(t, srv, "POST /c HTTP/1.1\r\nHost: web.apps.test\r\nTransfer-Encoding: chunked\r\n\r\n"+chunks)
			if !strings.HasPrefix(got, "HTTP/1.1 400") {
				t.Errorf("%s: got %q, want 400", name, got)
			}
		}
		select {
		case got := <-app.seen:
			t.Errorf("the app got a badly chunked request:\n%s", got)
		default:
		}
	})
}

// TRACE and CONNECT are refused at the edge, as nginx refuses them.
func TestRouter_RefusesTraceAndConnect(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, _, srv := routerFor(t)
		app := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}})
		for _, req := range []string{
			"TRACE / HTTP/1.1\r\nHost: web.apps.test\r\nCookie: session=s\r\n\r\n",
			"CONNECT web.apps.test:443 HTTP/1.1\r\nHost: web.apps.test\r\n\r\n",
		} {
			if got := converse(t, srv, req); !strings.HasPrefix(got, "HTTP/1.1 405") {
				t.Errorf("%q: got %q, want 405", req, got)
			}
		}
		select {
		case got := <-app.seen:
			t.Errorf("the app got:\n%s", got)
		default:
		}
	})
}

// Where the one proxy path does otherwise than ReverseProxy did, by design.
func TestForward_WhereItDiffersFromReverseProxy(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, _, srv := routerFor(t)
		app := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}})

		// The target goes as it came, as nginx passes it; ReverseProxy drops
		// query parameters it cannot parse.
		for _, target := range []string{"/q?a=1;b=2", "/q?a=%zz&b=1"} {
			_, sent := rawExchange(t, srv, "GET "+target+" HTTP/1.1\r\nHost: web.apps.test\r\n\r\n", app)
			if want := "GET " + target + " HTTP/1.1\n"; !strings.HasPrefix(sent, want) {
				t.Errorf("the app got %q, want it to start %q", sent, want)
			}
		}

		// One 100 Continue, from slipway's server: the app's own is not
		// passed on (ReverseProxy over http.Transport sent both).
		got, _ := rawExchange(t, srv, "POST /e HTTP/1.1\r\nHost: web.apps.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc", app)
		if n := strings.Count(got, "100 Continue"); n > 1 {
			t.Errorf("the client got %d 100 Continue:\n%s", n, got)
		}

		// A chunked body too long to hold is streamed: every byte reaches the
		// app, and its connection is not kept.
		long := strings.Repeat("c", DefaultMaxBufferedBody+1)
		_, sent := rawExchange(t, srv, "POST /c HTTP/1.1\r\nHost: web.apps.test\r\nTransfer-Encoding: chunked\r\n\r\n"+
			chunk(long), app)
		head, body, _ := strings.Cut(sent, "\n\n")
		if !strings.Contains(head, "Transfer-Encoding: chunked") || !strings.Contains(head, "Connection: close") {
			t.Errorf("the app got the head:\n%s", head)
		}
		var dechunked strings.Builder
		for rest := body; rest != ""; {
			size, after, _ := strings.Cut(rest, "\r\n")
			var n int
			fmt.Sscanf(size, "%x", &n)
			if n == 0 {
				break
			}
			dechunked.WriteString(after[:n])
			rest = after[n+2:]
		}
		if dechunked.String() != long {
			t.Errorf("the app got %d bytes of body, want %d", dechunked.Len(), len(long))
		}
	})
}
