package router

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/h1"
	"github.com/slipway/slipway/internal/testutil"
)

const testDomain = "apps.test"

// testKey is the affinity key of the routers that front starts.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// testCodec returns a codec that makes and reads the cookies of the routers
// that front starts.
func testCodec() *Codec { return NewCodec(testKey, DefaultSessionTTL) }

// front starts a Router for testDomain behind a real HTTP server and returns
// both, plus the buffer the router logs to.
func front(t *testing.T) (*Router, *httptest.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	r := New(Config{
		Domain:      testDomain,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AffinityKey: testKey,
	})
	t.Cleanup(r.Close)
	srv := serveRouter(t, r)
	return r, srv, logs
}

// lean, in a test run by eachServer, says which server serveRouter serves
// the router with: the lean HTTP/1 server slipway's cleartext listener
// uses (internal/h1) or net/http's. inMatrix says such a test runs; a
// router served outside one would not say which server it had. The
// router's tests do not run in parallel, so one variable serves them all.
var lean, inMatrix bool

// eachServer runs test behind net/http's server and then behind the lean
// one, as the subtests "net/http" and "lean".
func eachServer(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	testutil.EachHTTPServer(t, func(t *testing.T, l bool) {
		lean, inMatrix = l, true
		defer func() { lean, inMatrix = false, false }()
		test(t)
	})
}

// leanServer reports whether the test serves with the lean server, and
// fails it when it does not run in eachServer.
func leanServer(t *testing.T) bool {
	t.Helper()
	if !inMatrix {
		t.Fatal("a router served outside eachServer: wrap the test in eachServer(t, func(t *testing.T) { … })")
	}
	return lean
}

// serveRouter serves r over HTTP on 127.0.0.1 until the test ends, with
// net/http's server or, when lean, internal/h1's.
func serveRouter(t *testing.T, r http.Handler) *httptest.Server {
	t.Helper()
	if !leanServer(t) {
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv
	}
	srv := httptest.NewUnstartedServer(r)
	h := &h1.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Serve(srv.Listener)
	}()
	srv.URL = "http://" + srv.Listener.Addr().String()
	t.Cleanup(func() {
		h.Close()
		<-done
	})
	return srv
}

// browser returns a client with its own cookie jar, as one user's browser,
// that sends requests for any host to srv: visit it with URLs such as
// http://web.apps.test/, so the jar scopes cookies to the app's host.
func browser(t *testing.T, srv *httptest.Server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Listener.Addr().String()
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Jar: jar}
}

// visit sends a GET for http://host/path with browser client c, which may
// carry extra request headers as key, value pairs, and reads the response.
func visit(t *testing.T, c *http.Client, host, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+host+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: res.StatusCode, header: res.Header, body: string(b)}
}

// affinityCookie returns the affinity cookie a response sets, or nil.
func affinityCookie(t *testing.T, res response) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, line := range res.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("bad Set-Cookie %q: %v", line, err)
		}
		if c.Name == CookieName {
			if found != nil {
				t.Fatalf("two affinity cookies set: %q", res.header.Values("Set-Cookie"))
			}
			found = c
		}
	}
	return found
}

// pinnedTo returns what the affinity cookie set by res says for app, failing
// the test if there is none or it does not verify.
func pinnedTo(t *testing.T, app string, res response) Affinity {
	t.Helper()
	c := affinityCookie(t, res)
	if c == nil {
		t.Fatalf("response sets no affinity cookie; headers %v", res.header)
	}
	a, ok := testCodec().Decode(app, c.Value, time.Now())
	if !ok {
		t.Fatalf("affinity cookie %q does not verify", c.Value)
	}
	return a
}

// pool returns a pool of app at release whose instances web.1, web.2, …
// answer with "RELEASE/web.N".
func pool(t *testing.T, app, release string, n int) *Pool {
	t.Helper()
	p := &Pool{App: app, Release: release}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("web.%d", i)
		p.Instances = append(p.Instances, instance(id, backend(t, release+"/"+id, nil, nil)))
	}
	return p
}

// backend starts an app instance that answers with its id in the body and
// the X-Instance header. Paths under /hold/ block until hold is closed,
// after sending the id on started.
func backend(t *testing.T, id string, started chan<- string, hold <-chan struct{}) *httptest.Server {
	t.Helper()
	return newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/hold/") {
			started <- id
			<-hold
		}
		w.Header().Set("X-Instance", id)
		io.WriteString(w, id)
	}))
}

// newServer starts h on 127.0.0.1 for the duration of the test.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// instance returns an Instance for a test server.
func instance(id string, srv *httptest.Server) *Instance {
	return &Instance{ID: id, Addr: srv.Listener.Addr().String()}
}

// deadAddr returns an address on which nothing listens: connecting to it is
// refused.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// client returns an HTTP client whose idle connections are closed when the
// test ends.
func client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// response is what get returns: a status, headers and the whole body.
type response struct {
	code   int
	header http.Header
	body   string
}

// try sends a request with the given Host through the front server and
// reads the whole response. It may be called from any goroutine.
func try(c *http.Client, srv *httptest.Server, method, host, path string, body io.Reader) (response, error) {
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		return response{}, err
	}
	req.Host = host
	res, err := c.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s%s: %w", method, host, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s%s: read body: %w", method, host, path, err)
	}
	return response{code: res.StatusCode, header: res.Header, body: string(b)}, nil
}

// do is try for the test goroutine: it fails the test on error.
func do(t *testing.T, c *http.Client, srv *httptest.Server, method, host, path string, body io.Reader) response {
	t.Helper()
	res, err := try(c, srv, method, host, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// get sends a GET with the given Host through the front server.
func get(t *testing.T, c *http.Client, srv *httptest.Server, host, path string) response {
	t.Helper()
	return do(t, c, srv, http.MethodGet, host, path, nil)
}

// eventually polls cond until it holds, failing the test after testutil.Timeout.
var eventually = testutil.WaitFor

// recv returns the next value from ch, failing the test after a deadline.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// countedServer is a test app that counts the connections it accepted and
// closed, and can close its idle ones.
type countedServer struct {
	*httptest.Server
	accepts, closed atomic.Int32

	mu   sync.Mutex
	idle map[net.Conn]bool
}

// countingServer starts h as a countedServer for the duration of the test.
func countingServer(t *testing.T, h http.Handler) *countedServer {
	t.Helper()
	s := &countedServer{Server: httptest.NewUnstartedServer(h), idle: map[net.Conn]bool{}}
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch st {
		case http.StateNew:
			s.accepts.Add(1)
		case http.StateIdle:
			s.idle[c] = true
		case http.StateActive:
			delete(s.idle, c)
		case http.StateClosed, http.StateHijacked:
			delete(s.idle, c)
			s.closed.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// closeIdle closes the server's idle keep-alive connections, as an app
// with a short keep-alive timeout does.
func (s *countedServer) closeIdle(t *testing.T) {
	t.Helper()
	eventually(t, "a connection to go idle", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.idle) > 0
	})
	s.mu.Lock()
	for c := range s.idle {
		c.Close()
	}
	s.mu.Unlock()
	eventually(t, "the idle connections to close", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.idle) == 0
	})
}

// rawServer serves each connection with serve, after reading a request
// from it, and returns its address.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	return rawApp(t, func(conn net.Conn) {
		http.ReadRequest(bufio.NewReader(conn))
		serve(conn)
	})
}

// rawApp serves each connection with serve, closing it after, until the
// test ends; it returns the address.
func rawApp(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				serve(conn)
			}()
		}
	}()
	return ln.Addr().String()
}

// idleConns returns how many idle connections to addr tr keeps.
func idleConns(tr *Transport, addr string) int {
	h := tr.host(addr)
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.idle)
}

// transport returns a new Transport whose idle connections are closed when
// the test ends.
func transport(t *testing.T) *Transport {
	t.Helper()
	tr := NewTransport()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// sent is what send returns.
type sent struct {
	body    string
	trailer http.Header
}

// send makes one round trip with tr and reads the whole response, failing
// the test on error.
func send(t *testing.T, tr *Transport, method, url string, body io.Reader) sent {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return sent{body: string(b), trailer: res.Trailer}
}
