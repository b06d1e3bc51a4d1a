package httpserver

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testCert is a self-signed certificate for 127.0.0.1.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// Over TLS the lean server serves HTTP/2 and HTTP/1.1 (r.TLS set), and
// refuses a request with both Content-Length and Transfer-Encoding, as it
// does in plain HTTP.
func TestServer_LeanOverTLS(t *testing.T) {
	cert, pool := testCert(t)
	s := New("test", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "no TLS state", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, r.Proto)
	}), slog.New(slog.DiscardHandler))
	s.Lean = true
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + s.Addr() + "/")
		if err != nil {
			t.Fatalf("h2 %v: %v", h2, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		want := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]
		if resp.StatusCode != http.StatusOK || string(b) != want {
			t.Errorf("h2 %v: %d %q, want 200 %q", h2, resp.StatusCode, b, want)
		}
	}
	c, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("CL.TE over TLS = %d, want 400", resp.StatusCode)
	}
}

// startLeanTLS serves h with the lean server over TLS until the test ends;
// idle, when not 0, is its idle timeout.
func startLeanTLS(t *testing.T, h http.Handler, idle ...time.Duration) (*Server, *x509.CertPool) {
	t.Helper()
	cert, pool := testCert(t)
	s := New("test", "127.0.0.1:0", h, slog.New(slog.DiscardHandler))
	s.Lean = true
	if len(idle) > 0 {
		s.srv.IdleTimeout = idle[0]
	}
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	return s, pool
}

// heldConn is a TLS client's socket that holds what the client writes
// while hold is set, for the test to send when and how it likes: records
// cut in two, or several in one write.
type heldConn struct {
	net.Conn
	hold bool
	held []byte
}

func (c *heldConn) Write(b []byte) (int, error) {
	if c.hold {
		c.held = append(c.held, b...)
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// release sends what was held, from byte i on, and stops holding.
func (c *heldConn) release(t *testing.T, from, to int) {
	t.Helper()
	c.hold = false
	if _, err := c.Conn.Write(c.held[from:to]); err != nil {
		t.Fatal(err)
	}
}

// tlsClient is one HTTP/1.1 client connection over TLS to s.
type tlsClient struct {
	raw *heldConn
	tc  *tls.Conn
	br  *bufio.Reader
}

func dialTLS(t *testing.T, s *Server, pool *x509.CertPool) *tlsClient {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	raw := &heldConn{Conn: c}
	// Whole records for whole writes (no small first records), so that
	// the test decides where records begin and end.
	tc := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"},
		DynamicRecordSizingDisabled: true})
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return &tlsClient{raw: raw, tc: tc, br: bufio.NewReader(tc)}
}

func (c *tlsClient) send(t *testing.T, req string) {
	t.Helper()
	if _, err := io.WriteString(c.tc, req); err != nil {
		t.Fatal(err)
	}
}

// answer reads a response and returns its body.
func (c *tlsClient) answer(t *testing.T) string {
	t.Helper()
	c.raw.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n" }

var echoPath = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })

// Idle keep-alive connections over TLS hold no goroutine either: once a
// read has found nothing in the tls.Conn they are parked, also with half
// a record of the next request in it, and serve that request when the
// rest comes.
func TestServer_LeanParksIdleTLSConnections(t *testing.T) {
	s, pool := startLeanTLS(t, echoPath)
	base := runtime.NumGoroutine()
	const n = 100
	clients := make([]*tlsClient, n)
	for i := range clients {
		clients[i] = dialTLS(t, s, pool)
		clients[i].send(t, get("/first"))
		if got := clients[i].answer(t); got != "/first" {
			t.Fatalf("GET /first = %q", got)
		}
		c := clients[i]
		c.raw.hold = true
		c.send(t, get("/split"))
		c.raw.release(t, 0, len(c.raw.held)/2)
	}
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > base+n/4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines (%d before) with %d idle TLS connections: they are not parked", runtime.NumGoroutine(), base, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, c := range clients {
		c.raw.hold = true // the rest of the record goes out now
		c.raw.release(t, len(c.raw.held)/2, len(c.raw.held))
		if got := c.answer(t); got != "/split" {
			t.Fatalf("connection %d, the request whose record came in two halves: %q", i, got)
		}
		c.send(t, get("/again"))
		if got := c.answer(t); got != "/again" {
			t.Fatalf("connection %d after parking: %q", i, got)
		}
	}
}

// A request that waits in the tls.Conn, not in the socket, when the
// connection goes idle is served at once: whole records read with the one
// before, and the rest of a record the read buffer did not take.
func TestServer_LeanServesRequestsWaitingInTheTLSConn(t *testing.T) {
	s, pool := startLeanTLS(t, echoPath)
	t.Run("records read together", func(t *testing.T) {
		c := dialTLS(t, s, pool)
		c.raw.hold = true
		c.send(t, get("/one")) // a record each
		c.send(t, get("/two"))
		c.raw.release(t, 0, len(c.raw.held)) // in one write
		for _, want := range []string{"/one", "/two"} {
			if got := c.answer(t); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})
	t.Run("a record longer than the read buffer", func(t *testing.T) {
		c := dialTLS(t, s, pool)
		// The first request fills the server's 4 KiB read buffer exactly;
		// the second, in the same record, stays in the tls.Conn.
		first := get("/one")
		first = first[:len(first)-2] + "X-Pad: " + strings.Repeat("p", 4096-len(first)-len("X-Pad: \r\n")) + "\r\n\r\n"
		if len(first) != 4096 {
			t.Fatalf("first request is %d bytes", len(first))
		}
		c.send(t, first+get("/two"))
		for _, want := range []string{"/one", "/two"} {
			if got := c.answer(t); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})
}

// A parked TLS connection is still closed when its idle timeout, counted
// from its last response, is up.
func TestServer_LeanClosesParkedTLSConnectionsWhenIdle(t *testing.T) {
	const idle = 2500 * time.Millisecond // past the second after which it is parked
	s, pool := startLeanTLS(t, echoPath, idle)
	c := dialTLS(t, s, pool)
	c.send(t, get("/first"))
	if got := c.answer(t); got != "/first" {
		t.Fatalf("GET /first = %q", got)
	}
	answered := time.Now()
	c.raw.SetReadDeadline(answered.Add(idle + 5*time.Second))
	_, err := c.tc.Read(make([]byte, 1))
	if waited := time.Since(answered); err != io.EOF || waited < idle-100*time.Millisecond {
		t.Fatalf("read after %v: %v, want io.EOF (close_notify) after about %v", waited.Round(time.Millisecond), err, idle)
	}
}
