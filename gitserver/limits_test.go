package gitserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
	gossh "golang.org/x/crypto/ssh"
)

// slowSigner is an authorized key whose signature waits for sign: until
// then the client has only offered the key (the query), proving nothing.
type slowSigner struct {
	gossh.Signer
	offered chan struct{}
	sign    chan error
}

func (s *slowSigner) Sign(r io.Reader, data []byte) (*gossh.Signature, error) {
	close(s.offered)
	if err := <-s.sign; err != nil {
		return nil, err
	}
	return s.Signer.Sign(r, data)
}

func startTestServer(t *testing.T, l Limits) (*Server, gossh.Signer) {
	t.Helper()
	testutil.PrivateHome(t) // no fallback to the running user's own keys
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{DataDir: dir, AuthorizedKeys: keys, Listener: ln, Limits: l, Executable: "/bin/false",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	return s, signer
}

// Offering an authorized public key (public keys are public) without its
// signature does not log in: the connection stays counted against the
// caps and its login grace keeps running.
func TestGate_AnOfferedKeyIsNotALogin(t *testing.T) {
	s, signer := startTestServer(t, Limits{LoginGrace: time.Minute})
	slow := &slowSigner{Signer: signer, offered: make(chan struct{}), sign: make(chan error, 1)}
	done := make(chan error, 1)
	go func() {
		c, err := gossh.Dial("tcp", s.Addr().String(), &gossh.ClientConfig{User: "git",
			Auth: []gossh.AuthMethod{gossh.PublicKeys(slow)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case <-slow.offered:
	case <-time.After(10 * time.Second):
		t.Fatal("the client never got to sign")
	}
	if n := s.gate.pending.Len(); n != 1 {
		t.Errorf("after an authorized key was only offered, %d connections count as not logged in, want 1", n)
	}
	slow.sign <- errors.New("no signature")
	<-done
}

// A flood from one network displaces only its own oldest connections: a
// client of another network, counted last, stays.
func TestGate_AFloodDisplacesOnlyItsOwnNetwork(t *testing.T) {
	s, _ := startTestServer(t, Limits{LoginGrace: time.Minute, MaxStartups: 8, PerNetwork: 3})
	dial := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	other := dial("127.0.0.1")
	for i := range 20 {
		dial("127.0.9." + string(rune('1'+i%9)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.gate.pending.Len() != 4 || s.Dropped() != 17 {
		if time.Now().After(deadline) {
			t.Fatalf("%d counted, %d dropped; want 4 (3 of the flood, the other) and 17", s.gate.pending.Len(), s.Dropped())
		}
		time.Sleep(10 * time.Millisecond)
	}
	other.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := other.Read(make([]byte, 64)); err != nil {
		t.Errorf("the other network's connection: %v (want the server's banner)", err)
	}
}

// A connection that logged in leaves the count: a flood from its own
// network, however long, never closes it.
func TestGate_ALoggedInConnectionIsNeverDisplaced(t *testing.T) {
	s, signer := startTestServer(t, Limits{LoginGrace: time.Minute, MaxStartups: 4, PerNetwork: 2})
	c, err := gossh.Dial("tcp", s.Addr().String(), &gossh.ClientConfig{User: "git",
		Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	session := func() {
		t.Helper()
		sess, err := c.NewSession()
		if err != nil {
			t.Fatalf("a session on the logged-in connection: %v", err)
		}
		defer sess.Close()
		sess.Run("no-such-command") // refused, but the session ran: logged in
	}
	session()
	if n := s.gate.pending.Len(); n != 0 {
		t.Fatalf("%d connections count as not logged in after a session ran, want 0", n)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	for range 20 { // the same network as the logged-in one
		f, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); s.Dropped() < 18; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the flood displaced %d of its own, want 18", s.Dropped())
		}
	}
	session()
}
