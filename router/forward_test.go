package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/h1"
)

// The router's one proxy path (proxy.go) must send and answer what
// ReverseProxy with the router's rules did (referenceProxy, in
// reference_test.go), but where it does otherwise by design
// (TestForward_WhereItDiffersFromReverseProxy). TestForward_SameAsReverseProxy
// sends the same raw requests through both to a raw backend that records
// what reaches it and answers with a raw response, and compares both ends,
// over both of slipway's servers (the lean one's plain GETs as exchanges).

var forwardRequests = []struct{ name, raw string }{
	{"plain", "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: web.apps.test\r\nUser-Agent: ua1\r\nAccept: */*\r\n\r\n"},
	{"client forwarding headers", "GET / HTTP/1.1\r\nHost: web.apps.test\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n" +
		"X-Forwarded-Host: evil.test\r\nForwarded: for=1.2.3.4\r\nX-Real-Ip: 1.1.1.1\r\nTrue-Client-Ip: 2.2.2.2\r\n" +
		"X-Client-Ip: 3.3.3.3\r\nX-Cluster-Client-Ip: 4.4.4.4\r\n\r\n"},
	{"hop-by-hop", "GET / HTTP/1.1\r\nHost: web.apps.test\r\nConnection: keep-alive, X-Secret, cookie\r\nX-Secret: s\r\n" +
		"Cookie: a=b\r\nKeep-Alive: 300\r\nProxy-Connection: x\r\nProxy-Authorization: Basic eA==\r\nTe: trailers, deflate\r\n" +
		"Trailer: X-T\r\nX-Kept: k\r\n\r\n"},
	{"connection lists a header the router sets", "GET / HTTP/1.1\r\nHost: web.apps.test\r\nConnection: X-Real-Ip, X-Forwarded-For, Host\r\n\r\n"},
	{"connection close lists a header", "GET / HTTP/1.1\r\nHost: web.apps.test\r\nConnection: close\r\nClose: x\r\nX-Kept: k\r\n\r\n"},
	{"lower-case names", "GET /l HTTP/1.1\r\nhost: web.apps.test\r\nuser-agent: lc\r\nx-forwarded-proto: https\r\nx-real-ip: 9.9.9.9\r\n" +
		"keep-alive: 1\r\naccept: a\r\nACCEPT: b\r\n\r\n"},
	{"te without trailers", "GET / HTTP/1.1\r\nHost: web.apps.test\r\nTe: gzip\r\n\r\n"},
	{"two user agents", "GET / HTTP/1.1\r\nHost: web.apps.test\r\nUser-Agent: a\r\nUser-Agent: b\r\n\r\n"},
	{"empty user agent", "GET / HTTP/1.1\r\nHost: web.apps.test\r\nUser-Agent:\r\n\r\n"},
	{"repeated header", "GET / HTTP/1.1\r\nHost: web.apps.test\r\nAccept: a\r\nAccept: b\r\nX-Pad:   v  \r\n\r\n"},
	{"post without body", "POST /p HTTP/1.1\r\nHost: web.apps.test\r\nContent-Length: 0\r\n\r\n"},
	{"patch without length", "PATCH /p HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"},
	{"delete", "DELETE /d HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"},
	{"put with body", "PUT /u HTTP/1.1\r\nHost: web.apps.test\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"},
	{"post with idempotency key", "POST /p HTTP/1.1\r\nHost: web.apps.test\r\nIdempotency-Key: 7\r\nContent-Length: 2\r\n\r\nhi"},

	// Where the one path does otherwise, by design: see
	// TestForward_WhereItDiffersFromReverseProxy.
	{"head", "HEAD /h HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"},
	{"options", "OPTIONS /o HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"},
	{"escaped path", "GET /a%2Fb/%7Euser/c%20d HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"},
	{"empty query", "GET /q? HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"},

	{"absolute form", "GET http://web.apps.test/abs?q=1 HTTP/1.1\r\nHost: web.apps.test\r\n\r\n"},
	{"host with port", "GET / HTTP/1.1\r\nHost: web.apps.test:8080\r\n\r\n"},
	{"http/1.0", "GET /old HTTP/1.0\r\nHost: web.apps.test\r\n\r\n"},
	{"websocket upgrade (ReverseProxy)", "GET /ws HTTP/1.1\r\nHost: web.apps.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
}

var forwardResponses = []struct{ name, raw string }{
	{"plain", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-App: 1\r\nContent-Type: text/plain\r\n\r\nok"},
	{"hop-by-hop", "HTTP/1.1 200 OK\r\nConnection: X-Internal, keep-alive\r\nX-Internal: leak\r\nKeep-Alive: timeout=5\r\n" +
		"Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\nTe: x\r\nContent-Length: 2\r\n\r\nok"},
	{"app cookie", "HTTP/1.1 200 OK\r\nSet-Cookie: app=1; Path=/\r\nSet-Cookie: two=2\r\nContent-Length: 2\r\n\r\nok"},
	{"hop-by-hop in a simple response", "HTTP/1.1 200 OK\r\nkeep-alive: timeout=5\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\n" +
		"Te: x\r\nx-dup: 1\r\nX-Dup:  2 \r\nContent-Length: 2\r\n\r\nok"},
	{"announced trailer", "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n"},
	{"unannounced trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Late: 1\r\n\r\n"},
	{"event stream", "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 9\r\n\r\ndata: x\n\n"},
	{"close delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"},
	{"http/1.0 response", "HTTP/1.0 200 OK\r\nX-Old: 1\r\n\r\nold body"},
	{"no content", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"},
	{"not modified", "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n"},
	{"error", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"},
}

func TestForward_SameAsReverseProxy(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		type pair struct{ name, req, res string }
		var cases []pair
		for _, rq := range forwardRequests {
			cases = append(cases, pair{"request " + rq.name, rq.raw, forwardResponses[0].raw})
		}
		for _, rs := range forwardResponses[1:] {
			cases = append(cases, pair{"response " + rs.name, forwardRequests[0].raw, rs.raw})
		}
		cases = append(cases, pair{"head with length", "HEAD /h HTTP/1.1\r\nHost: web.apps.test\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"})

		own := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey})
		t.Cleanup(own.Close)
		tr := &http.Transport{DisableCompression: true}
		t.Cleanup(tr.CloseIdleConnections)
		viaRP := New(Config{Domain: testDomain, Logger: slog.New(slog.DiscardHandler), AffinityKey: testKey})
		t.Cleanup(viaRP.Close)
		counted := &servedSimple{Router: own}
		ownSrv, rpSrv := serveRouter(t, counted), serveRouter(t, referenceProxy(viaRP, tr))

		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				app := newRawBackend(t, c.res)
				pool := func() *Pool {
					return &Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}}
				}
				own.SetLive(pool())
				viaRP.SetLive(pool())

				offered, std := counted.offered.Load(), counted.std.Load()
				gotOwn, sentOwn := rawExchange(t, ownSrv.Listener.Addr().String(), c.req, app)
				// (Both count before the response goes out: ServeHTTP is
				// called for a declined exchange before it answers.)
				raw := counted.offered.Load() > offered && counted.std.Load() == std
				if lean && c.req == forwardRequests[0].raw && !raw {
					t.Error("the lean server's plain GET did not take the raw path (ServeSimple)")
				}
				gotRP, sentRP := rawExchange(t, rpSrv.Listener.Addr().String(), c.req, app)
				if sentOwn != sentRP {
					t.Errorf("the app got, through the router's own path:\n%s\nthrough ReverseProxy:\n%s", sentOwn, sentRP)
				}
				if gotOwn != gotRP {
					t.Errorf("the client got, through the router's own path:\n%s\nthrough ReverseProxy:\n%s", gotOwn, gotRP)
				}
			})
		}
	})
}

// servedSimple counts the exchanges its Router is offered
// (h1.SimpleHandler) and the requests it serves with ServeHTTP, declined
// exchanges among them.
type servedSimple struct {
	*Router
	offered, std atomic.Int64
}

func (s *servedSimple) ServeSimple(x *h1.Exchange) bool {
	s.offered.Add(1)
	return s.Router.ServeSimple(x)
}

func (s *servedSimple) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.std.Add(1)
	s.Router.ServeHTTP(w, r)
}

// A client's Connection: close is about its own connection: the router
// keeps its connection to the instance for the next request.
func TestForward_ClientCloseKeepsInstanceConnection(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := newRawBackend(t, forwardResponses[0].raw)
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}})
		for range 3 {
			got, _ := rawExchange(t, srv.Listener.Addr().String(), "GET / HTTP/1.1\r\nHost: web.apps.test\r\nConnection: close\r\n\r\n", app)
			if !strings.HasPrefix(got, "200 OK") {
				t.Fatalf("got %s", got)
			}
		}
		if n := app.accepts.Load(); n != 1 {
			t.Errorf("the instance got %d connections for 3 requests, want 1", n)
		}
	})
}

// An instance that dies in the middle of a response body: the client's
// response must end in an error too (the router aborts it: the connection
// closes, before or after the head went out), never look complete, with a chunked body (which a clean end would terminate) as with
// a Content-Length.
func TestForward_BodyCutShortAbortsResponse(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		responses := map[string]string{
			"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
			"length":  "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
		}
		requests := map[string]string{
			"own path":     "GET / HTTP/1.1\r\nHost: web.apps.test\r\n\r\n",
			"ReverseProxy": "POST / HTTP/1.1\r\nHost: web.apps.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		}
		for rsName, res := range responses {
			for rqName, req := range requests {
				t.Run(rsName+" via "+rqName, func(t *testing.T) {
					r, srv, _ := front(t)
					app := newRawBackend(t, res)
					app.cut = true
					r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}})
					c, err := net.Dial("tcp", srv.Listener.Addr().String())
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					io.WriteString(c, req)
					got, err := http.ReadResponse(bufio.NewReader(c), nil)
					if err != nil {
						return // the head had not gone out yet: the connection closed without it
					}
					body, err := io.ReadAll(got.Body)
					if err == nil {
						t.Errorf("the client read %q and a clean end of a body the instance cut short", body)
					}
				})
			}
		}
	})
}

// A client that leaves while the instance has not answered: the router
// gives up the exchange and closes its connection to the instance, on
// either server (the lean one tells the transport through its request
// context's AfterCancel, net/http's through context.AfterFunc).
func TestForward_ClientGoneClosesInstanceConnection(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		arrived, closed := make(chan struct{}), make(chan struct{})
		addr := rawServer(t, func(c net.Conn) {
			close(arrived)
			// Never answer: wait for the router to close the connection.
			if _, err := c.Read(make([]byte, 1)); err != nil {
				close(closed)
			}
		})
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: addr}}})
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: web.apps.test\r\n\r\n")
		select { // once the request is at the instance, the client leaves
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the request did not reach the instance")
		}
		c.Close()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("the router kept its connection to the instance after the client left")
		}
	})
}

// A 103 Early Hints from the app reaches the client with the app's Link
// header, and the affinity cookie comes with the final response, where
// browsers take it (ReverseProxy put it in the 103 and dropped it from the
// final one).
func TestForward_EarlyHintsKeepCookieForFinalResponse(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		for name, req := range map[string]string{
			"own path": "GET / HTTP/1.1\r\nHost: web.apps.test\r\n\r\n",
			// A chunked body goes through ReverseProxy.
			"ReverseProxy": "POST / HTTP/1.1\r\nHost: web.apps.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		} {
			t.Run(name, func(t *testing.T) {
				r, srv, _ := front(t)
				app := newRawBackend(t, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"+
					"HTTP/1.1 103 Early Hints\r\nLink: </t.js>; rel=preload\r\n\r\n"+
					"HTTP/1.1 200 OK\r\nSet-Cookie: app=1\r\nContent-Length: 2\r\n\r\nok")
				r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}})
				got, _ := rawExchange(t, srv.Listener.Addr().String(), req, app)
				hints, final, ok := strings.Cut(got, "200 OK\n")
				first, second, two := strings.Cut(hints, "103 Early Hints\n")
				if !ok || first != "" || !two || !strings.Contains(second, "103 Early Hints\n") {
					t.Fatalf("got %s, want two 103s and then a 200", got)
				}
				if !strings.Contains(hints, "Link: </s.css>; rel=preload") || !strings.Contains(hints, "Link: </t.js>; rel=preload") ||
					strings.Contains(hints, CookieName) {
					t.Errorf("the 103s were %q, want the app's Link headers and no affinity cookie", hints)
				}
				if !strings.Contains(final, "Set-Cookie: "+CookieName+"=X") || !strings.Contains(final, "Set-Cookie: app=1") ||
					strings.Contains(final, "Link:") {
					t.Errorf("the final response was %q, want the affinity cookie and the app's, no Link", final)
				}
			})
		}
	})
}

// rawBackend is an app instance that answers every request with one raw
// response and reports each request it read, normalized (header lines
// sorted, since ReverseProxy sorts them and the router's own path does not).
type rawBackend struct {
	ln      net.Listener
	res     string
	seen    chan string
	accepts atomic.Int64
	cut     bool // close the connection after the response, whatever it says
}

func newRawBackend(t *testing.T, res string) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{ln: ln, res: res, seen: make(chan string, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepts.Add(1)
			go b.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return b
}

func (b *rawBackend) addr() string { return b.ln.Addr().String() }

func (b *rawBackend) serve(c net.Conn) {
	defer c.Close()
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &raw))
	for {
		raw.Reset()
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Expect") == "100-continue" {
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		}
		io.Copy(io.Discard, req.Body)
		b.seen <- normalizeRequest(raw.String())
		io.WriteString(c, b.res)
		if b.cut || strings.Contains(b.res, "Connection: close") || strings.HasPrefix(b.res, "HTTP/1.0") || req.Header.Get("Upgrade") != "" {
			return
		}
	}
}

// normalizeRequest sorts the header lines of a raw request.
func normalizeRequest(raw string) string {
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	slices.Sort(lines[1:])
	return strings.Join(lines, "\n") + "\n\n" + body
}

// affinityValue matches the value of the router's cookie, which holds the
// second it was issued.
var affinityValue = regexp.MustCompile(CookieName + `=[^;]*`)

// rawExchange sends one raw request to a router on a new connection and
// returns what came back (interim responses, status, headers without Date,
// body, trailers) and what the app got.
func rawExchange(t *testing.T, addr, req string, app *rawBackend) (got, sent string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(req, " ")
	br := bufio.NewReader(c)
	var out strings.Builder
	for {
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		res.Header.Del("Date")
		if res.ContentLength < 0 {
			res.Header.Del("Content-Length") // chunked or not is when flushes happen
			if !strings.Contains(app.res, "Content-Type") {
				// ReverseProxy flushes a stream's headers from a timer
				// that races with the first write, which, if it wins,
				// gets the server to sniff a Content-Type; the router's
				// own path sends the headers first, as the app sent them.
				res.Header.Del("Content-Type")
			}
		}
		fmt.Fprintf(&out, "%s\n", res.Status)
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range res.Header {
				if !yield(k) {
					return
				}
			}
		}) {
			for _, v := range res.Header[k] {
				fmt.Fprintf(&out, "%s: %s\n", k, affinityValue.ReplaceAllString(v, CookieName+"=X"))
			}
		}
		fmt.Fprintf(&out, "\n%q\ntrailer %v\n", body, res.Trailer)
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	select {
	case sent = <-app.seen:
	case <-time.After(10 * time.Second):
		t.Fatal("the app got no request")
	}
	// The address the router connects from differs between the routers.
	return out.String(), sent
}
