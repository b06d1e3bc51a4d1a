package router

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

// The tests here hold the promise a proxy makes above all: no byte of one
// client's exchange reaches another client. They use apps that misbehave
// as real ones do, each at the worst moment for the router.

// naiveApp serves each connection as Python's http.server does: it reads
// request heads one after the other and never reads a body, so a body is
// taken for the next request and answered. Each answer names the path and
// the Cookie header it answers. When lazy is set, a request whose bytes
// came with the one before (a request smuggled in a body) is answered only
// once more bytes come (the next request on the connection): the worst
// timing for a proxy that reuses the connection. answered, if not nil,
// hears each path once its answer is written, and "" when a connection
// ends.
func naiveApp(t *testing.T, lazy bool, answered chan<- string) string {
	t.Helper()
	return rawApp(t, func(conn net.Conn) {
		br := bufio.NewReader(conn)
		for {
			queued := br.Buffered() > 0
			req, err := http.ReadRequest(br)
			if err != nil {
				if answered != nil {
					answered <- "" // the connection's end
				}
				return
			}
			if lazy && queued {
				br.Peek(1) // until the next request or the end of the connection
			}
			body := "path=" + req.URL.Path + " cookie=" + req.Header.Get("Cookie")
			fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			if answered != nil {
				answered <- req.URL.Path
			}
		}
	})
}

// clientExchange writes request on a new connection to srv and reads one
// response to a GET, returning its body.
func clientExchange(t *testing.T, srv string, request string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return string(b)
}

// smuggled is a request in a body, as an attacker sends it.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"

// withBody is a request head for /a with a Content-Length for body, and
// body.
func withBody(method, body string) string {
	return fmt.Sprintf("%s /a HTTP/1.1\r\nHost: web.apps.test\r\nContent-Length: %d\r\n\r\n%s", method, len(body), body)
}

// largeSmuggled is a smuggled request too large for the router to buffer.
var largeSmuggled = "GET /smuggled HTTP/1.1\r\nHost: web.apps.test\r\nX-Pad: " + strings.Repeat("a", DefaultMaxBufferedBody) + "\r\n\r\n"

// attacks are the ways a client sends a request whose body the app will
// take for a request of its own: each way the router carries a body.
var attacks = []struct {
	name, request string
}{
	{"GET with Content-Length", withBody("GET", smuggled)},
	{"POST with Content-Length", withBody("POST", smuggled)},
	{"DELETE with Content-Length", withBody("DELETE", smuggled)},
	{"GET chunked", "GET /a HTTP/1.1\r\nHost: web.apps.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
		fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled)},
	{"large body", withBody("POST", largeSmuggled)},
}

// routerFor starts a router behind a server, as front does, and returns
// it with its transport and the server's address.
func routerFor(t *testing.T) (*Router, *Transport, string) {
	t.Helper()
	r := New(Config{Domain: testDomain, AffinityKey: testKey, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(r.Close)
	return r, r.transport, serveRouter(t, r).Listener.Addr().String()
}

func TestRouter_BodyTheAppTakesForARequestNeverReachesAnotherClient(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		for _, lazy := range []bool{false, true} {
			for _, a := range attacks {
				t.Run(fmt.Sprintf("lazy=%v/%s", lazy, a.name), func(t *testing.T) {
					answered := make(chan string, 4096)
					r, _, srv := routerFor(t)
					r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: naiveApp(t, lazy, answered)}}})
					if got := clientExchange(t, srv, a.request); !strings.HasPrefix(got, "path=/a ") {
						t.Fatalf("attacker got %q, want its own answer", got)
					}
					if !lazy {
						// The app has answered the smuggled request (its
						// answer waits on the router's connection, if
						// kept), or its connection has ended.
						for p := "/a"; p != "/smuggled" && p != ""; p = recv(t, answered, "the app's answers") {
						}
					}
					victim := "GET /account HTTP/1.1\r\nHost: web.apps.test\r\nCookie: session=VICTIM\r\n\r\n"
					if got, want := clientExchange(t, srv, victim), "path=/account cookie=session=VICTIM"; got != want {
						t.Fatalf("victim got %q, want %q", got, want)
					}
					if got := clientExchange(t, srv, "GET /again HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"); got != "path=/again cookie=" {
						t.Fatalf("attacker's next request got %q, want its own answer", got)
					}
				})
			}
		}
	})
}

// overrunApp answers every request with "path=PATH" and, after the body its
// Content-Length declares, a whole response of its own naming "POISON":
// in the same write, or (late) in a second write once told to go on (when
// the first answer has reached the client, and the connection is idle in
// the router), after which it tells written.
func overrunApp(t *testing.T, late bool, goOn <-chan struct{}, written chan<- struct{}) string {
	t.Helper()
	return rawApp(t, func(conn net.Conn) {
		br := bufio.NewReader(conn)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			body := "path=" + req.URL.Path
			answer := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			extra := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nPOISON"
			if !late {
				io.WriteString(conn, answer+extra)
				continue
			}
			io.WriteString(conn, answer)
			<-goOn
			io.WriteString(conn, extra) // on loopback, in the router's socket when this returns
			written <- struct{}{}
		}
	})
}

func TestRouter_AppSendingMoreThanItDeclaredReachesNoOtherClient(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		for _, late := range []bool{false, true} {
			t.Run(fmt.Sprintf("late=%v", late), func(t *testing.T) {
				goOn, written := make(chan struct{}, 100), make(chan struct{}, 100)
				r, own, srv := routerFor(t)
				r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: overrunApp(t, late, goOn, written)}}})
				for i := range 5 {
					path := fmt.Sprintf("/%d", i)
					if got, want := clientExchange(t, srv, "GET "+path+" HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"), "path="+path; got != want {
						t.Fatalf("request %d got %q, want %q", i, got, want)
					}
					if late {
						goOn <- struct{}{}
						recv(t, written, "the app's extra response")
					}
				}
				if got := own.Errors().Unsolicited; got == 0 {
					t.Errorf("Errors().Unsolicited = 0 after 5 overrunning responses, want it counted")
				}
			})
		}
	})
}

// What an instance does wrong is counted by kind, for the metrics: a
// connection ended before the response, and a response that cannot be
// framed.
func TestTransport_CountsResetsAndMalformedResponses(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, own, srv := routerFor(t)
		hangUp := rawApp(t, func(c net.Conn) { http.ReadRequest(bufio.NewReader(c)) })
		garbage := rawApp(t, func(c net.Conn) {
			http.ReadRequest(bufio.NewReader(c))
			io.WriteString(c, "HTTP/1.1 abc\r\nContent-Length: 2\r\n\r\nok")
		})
		for _, tc := range []struct {
			app   string
			addr  string
			count func(UpstreamErrors) uint64
		}{
			{"hangup", hangUp, func(e UpstreamErrors) uint64 { return e.Reset }},
			{"garbage", garbage, func(e UpstreamErrors) uint64 { return e.Malformed }},
		} {
			r.SetLive(&Pool{App: tc.app, Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: tc.addr}}})
			before := tc.count(own.Errors())
			got := converse(t, srv, "GET / HTTP/1.1\r\nHost: "+tc.app+".apps.test\r\nConnection: close\r\n\r\n")
			if !strings.HasPrefix(got, "HTTP/1.1 502") {
				t.Errorf("%s: the client got %q, want 502", tc.app, got)
			}
			if after := tc.count(own.Errors()); after != before+1 {
				t.Errorf("%s: counted %d, want %d", tc.app, after, before+1)
			}
		}
	})
}
