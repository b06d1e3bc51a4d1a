package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// start serves h with s on 127.0.0.1 until the test ends.
func start(t *testing.T, s *Server, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Handler = h
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	return ln.Addr().String()
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return err == io.EOF
}

func get(t *testing.T, c net.Conn, br *bufio.Reader, path string) string {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A new connection that sends nothing is closed after ReadHeaderTimeout;
// an idle one after IdleTimeout, counted from its last response, also
// when its wait moved to another goroutine (handOverAfter) meanwhile.
func TestServer_Timeouts(t *testing.T) {
	s := &Server{ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: 600 * time.Millisecond}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	silent, _ := net.Dial("tcp", addr)
	defer silent.Close()
	t0 := time.Now()
	if !closedWithin(silent, 5*time.Second) {
		t.Fatal("a silent connection was not closed")
	}
	// Not before its timeout: a lower bound, which no load on the machine
	// can break (closedWithin bounds the wait).
	if d := time.Since(t0); d < 250*time.Millisecond {
		t.Errorf("a silent connection was closed after %v, before ReadHeaderTimeout", d)
	}
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	br := bufio.NewReader(c)
	if got := get(t, c, br, "/"); got != "ok" {
		t.Fatalf("GET = %q", got)
	}
	t1 := time.Now()
	if !closedWithin(c, 5*time.Second) {
		t.Fatal("an idle connection was not closed")
	}
	if d := time.Since(t1); d < 550*time.Millisecond {
		t.Errorf("an idle connection was closed after %v, before IdleTimeout (600ms)", d)
	}
}

// A keep-alive connection serves request after request, also once its
// wait has moved to another goroutine.
func TestServer_KeepAliveAcrossHandOver(t *testing.T) {
	s := &Server{IdleTimeout: time.Minute}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) }))
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	br := bufio.NewReader(c)
	for i, path := range []string{"/1", "/2", "/3"} {
		if got := get(t, c, br, path); got != path {
			t.Fatalf("request %d = %q", i, got)
		}
		time.Sleep(handOverAfter + 50*time.Millisecond) // the next one comes after the hand-over
	}
}

// A client that goes away while its request runs cancels the request's
// context (a slow upstream is not waited for in vain); a quick request
// never watches the connection.
func TestServer_ClientGoneCancelsContext(t *testing.T) {
	canceled := make(chan error, 1)
	started := make(chan struct{})
	s := &Server{}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			canceled <- r.Context().Err()
		case <-time.After(10 * time.Second):
			canceled <- nil
		}
	}))
	c, _ := net.Dial("tcp", addr)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	time.Sleep(2 * disconnectWatchAfter)
	c.Close()
	select {
	case err := <-canceled:
		if err != context.Canceled {
			t.Errorf("the handler's context ended with %v, want canceled when the client left", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the handler did not return")
	}
}

// A request pipelined behind a slow one (the disconnect watch reads its
// first byte) is served after it, whole.
func TestServer_PipelinedBehindSlowRequest(t *testing.T) {
	s := &Server{}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(3 * disconnectWatchAfter)
		}
		io.WriteString(w, r.URL.Path)
	}))
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(2 * disconnectWatchAfter) // the watch is reading now
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"/slow", "/next"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Errorf("got %q, want %q", b, want)
		}
	}
}

// Shutdown closes idle connections at once and lets a request in flight
// finish, its connection closing after it.
func TestServer_Shutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s := &Server{}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			started <- struct{}{}
			<-release
		}
		io.WriteString(w, "done")
	}))
	idle, _ := net.Dial("tcp", addr)
	defer idle.Close()
	if got := get(t, idle, bufio.NewReader(idle), "/"); got != "done" {
		t.Fatal(got)
	}
	busy, _ := net.Dial("tcp", addr)
	defer busy.Close()
	io.WriteString(busy, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if !closedWithin(idle, 5*time.Second) {
		t.Error("Shutdown left an idle connection open")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "done" || !resp.Close {
		t.Errorf("the request in flight got %q, close %v; want done and Connection: close", b, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// Responses get the framing net/http gives them: a short body its length,
// a long or flushed one chunks, HEAD no body, 204 neither, and header
// values cannot split the response.
func TestServer_ResponseFraming(t *testing.T) {
	s := &Server{}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/short":
			io.WriteString(w, "hello")
		case "/long":
			io.WriteString(w, strings.Repeat("x", 3*bufferBeforeChunking))
		case "/flushed":
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/split":
			w.Header().Set("X-Bad", "a\r\nSet-Cookie: evil=1")
			io.WriteString(w, "ok")
		}
	}))
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	br := bufio.NewReader(c)
	for _, tc := range []struct {
		method, path string
		cl           int64
		chunked      bool
		body         string
	}{
		{"GET", "/short", 5, false, "hello"},
		{"GET", "/long", -1, true, strings.Repeat("x", 3*bufferBeforeChunking)},
		{"GET", "/flushed", -1, true, "ab"},
		{"HEAD", "/short", 5, false, ""},
		{"GET", "/204", 0, false, ""},
		{"GET", "/split", 2, false, "ok"},
	} {
		io.WriteString(c, tc.method+" "+tc.path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		req, _ := http.NewRequest(tc.method, "/", nil)
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		chunked := len(resp.TransferEncoding) > 0
		if resp.ContentLength != tc.cl || chunked != tc.chunked || string(b) != tc.body {
			t.Errorf("%s %s: length %d, chunked %v, body %d bytes; want %d, %v, %d bytes", tc.method, tc.path, resp.ContentLength, chunked, len(b), tc.cl, tc.chunked, len(tc.body))
		}
		if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Date") == "" {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, resp.Header)
		}
	}
}

// Idle keep-alive connections hold no goroutine: they are parked, and a
// parked one serves its next request when it comes.
func TestServer_IdleConnectionsAreParked(t *testing.T) {
	s := &Server{IdleTimeout: time.Minute}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) }))
	const n = 200
	type client struct {
		c  net.Conn
		br *bufio.Reader
	}
	clients := make([]client, n)
	for i := range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = client{c, bufio.NewReader(c)}
		if got := get(t, c, clients[i].br, "/first"); got != "/first" {
			t.Fatalf("GET = %q", got)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n/4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines with %d idle connections: they are not parked", runtime.NumGoroutine(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, cl := range clients {
		if got := get(t, cl.c, cl.br, "/again"); got != "/again" {
			t.Fatalf("connection %d after parking: %q", i, got)
		}
	}
}

// flakyListener fails its first Accept as an exhausted file table does.
type flakyListener struct {
	net.Listener
	failed bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if !l.failed {
		l.failed = true
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// Running out of descriptors for a moment does not stop the server.
func TestServer_TemporaryAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	done := make(chan error, 1)
	go func() { done <- s.Serve(&flakyListener{Listener: ln}) }()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := get(t, c, bufio.NewReader(c), "/"); got != "ok" {
		t.Fatalf("after EMFILE: %q", got)
	}
}

// Shutdown that runs out of time closes what is left, and stopping twice
// (Shutdown, then Close) is harmless.
func TestServer_ShutdownTimeoutThenClose(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s := &Server{}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}))
	idle, _ := net.Dial("tcp", addr)
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	release <- struct{}{}
	http.ReadResponse(bufio.NewReader(idle), nil)
	busy, _ := net.Dial("tcp", addr)
	defer busy.Close()
	io.WriteString(busy, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Errorf("Shutdown with a request held = %v, want the deadline", err)
	}
	s.Close()
	close(release)
	if !closedWithin(busy, 5*time.Second) {
		t.Error("the held request's connection is still open")
	}
}

// A handler that aborts its response (panic(http.ErrAbortHandler), as the
// router does when an instance dies mid-body) has its connection closed,
// and the disconnect watch armed for it never starts on that connection
// afterwards: the server keeps serving others once the watch's delay has
// passed. The request context carries http.ServerContextKey, as
// http.Server's does.
func TestServer_AbortedHandler(t *testing.T) {
	s := &Server{IdleTimeout: time.Minute}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(http.ServerContextKey) == nil {
			http.Error(w, "no ServerContextKey", http.StatusInternalServerError)
			return
		}
		if r.URL.Path == "/abort" {
			io.WriteString(w, "partial")
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "ok")
	}))
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	io.WriteString(c, "GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
	if !closedWithin(c, 5*time.Second) {
		t.Fatal("the aborted response's connection was not closed")
	}
	time.Sleep(3 * disconnectWatchAfter) // the watch's delay, which is what this is about
	c2, _ := net.Dial("tcp", addr)
	defer c2.Close()
	if got := get(t, c2, bufio.NewReader(c2), "/"); got != "ok" {
		t.Fatalf("GET after an aborted response = %q", got)
	}
}

// A busy connection's next head that stops halfway gets all of
// ReadHeaderTimeout, counted from when it began (a whole head in the read
// buffer is parsed without that deadline; half of one is not whole).
func TestServer_ReadHeaderTimeoutOfABusyConnection(t *testing.T) {
	// Longer than handOverAfter, the busy wait's own deadline, which
	// would close it sooner.
	timeout := handOverAfter + handOverAfter/2
	s := &Server{ReadHeaderTimeout: timeout, IdleTimeout: time.Minute}
	addr := start(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	br := bufio.NewReader(c)
	for range 2 { // after the first, a connection is handed over; after the second, it is busy
		if got := get(t, c, br, "/"); got != "ok" {
			t.Fatalf("GET = %q", got)
		}
	}
	t0 := time.Now()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Half: ")
	if !closedWithin(c, 10*time.Second) {
		t.Fatal("a connection whose head stopped halfway was not closed")
	}
	if d := time.Since(t0); d < timeout-200*time.Millisecond {
		t.Errorf("a connection whose head stopped halfway was closed after %v, want ReadHeaderTimeout (%v)", d, timeout)
	}
}
