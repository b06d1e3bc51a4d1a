package pausable

import (
	"net"
	"testing"
	"time"
)

// accepted starts accepting on l in the background and returns the
// connections it gets.
func accepted(t *testing.T, l *Listener) <-chan net.Conn {
	t.Helper()
	got := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(got)
				return
			}
			got <- c
		}
	}()
	return got
}

func dial(t *testing.T, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListener_PausedConnectionsWaitForResumeOrAnotherAccepter(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner)
	got := accepted(t, l)
	dial(t, l.Addr())
	select {
	case c := <-got:
		c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("a connection before Pause was not accepted")
	}

	l.Pause()
	dial(t, l.Addr())
	// While paused, the connection waits in the kernel's queue, where
	// another accepter of the same socket (the next slipway) takes it.
	other := inner.(*net.TCPListener)
	other.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := other.Accept()
	if err != nil {
		t.Fatalf("the paused listener's queue had no connection for another accepter: %v", err)
	}
	c.Close()
	other.SetDeadline(time.Time{})
	select {
	case c := <-got:
		t.Fatalf("the paused listener accepted %v", c.RemoteAddr())
	default:
	}

	l.Resume()
	dial(t, l.Addr())
	select {
	case c := <-got:
		c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted after Resume")
	}

	l.Pause()
	l.Close()
	if _, ok := <-got; ok {
		t.Fatal("Accept returned a connection after Close")
	}
}
