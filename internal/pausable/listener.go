package pausable

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// deadliner is a listener whose blocked Accept a deadline interrupts:
// *net.TCPListener and *net.UnixListener.
type deadliner interface {
	net.Listener
	SetDeadline(time.Time) error
}

// Listener wraps a listener with Pause and Resume.
type Listener struct {
	ln net.Listener
	d  deadliner // nil when ln cannot be paused

	mu       sync.Mutex
	paused   chan struct{} // non-nil while paused; closed by Resume
	inAccept int           // Accepts under way on ln
	idle     sync.Cond     // signalled when inAccept drops to 0
	closed   chan struct{}
	closeMu  sync.Once
}

// New wraps ln. Pause does nothing to a listener that cannot take a
// deadline (neither TCP nor unix).
func New(ln net.Listener) *Listener {
	d, _ := ln.(deadliner)
	l := &Listener{ln: ln, d: d, closed: make(chan struct{})}
	l.idle.L = &l.mu
	return l
}

// Accept waits for the next connection, while the listener is not paused.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		paused := l.paused
		if paused == nil {
			l.inAccept++
		}
		l.mu.Unlock()
		if paused != nil {
			select {
			case <-paused:
			case <-l.closed:
				return nil, net.ErrClosed
			}
			continue
		}
		c, err := l.ln.Accept()
		l.mu.Lock()
		if l.inAccept--; l.inAccept == 0 {
			l.idle.Broadcast()
		}
		l.mu.Unlock()
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			continue // Pause interrupted it, or a Resume raced with it
		}
		return c, err
	}
}

// Pause stops accepting: once it returns, a connection that arrives
// waits in the kernel's queue. (An Accept under way when it is called may
// still return one connection that arrived just then.)
func (l *Listener) Pause() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.paused != nil || l.d == nil {
		return
	}
	l.paused = make(chan struct{})
	l.d.SetDeadline(time.Now()) // ends an Accept that is waiting
	for l.inAccept > 0 {
		l.idle.Wait()
	}
}

// Resume accepts again.
func (l *Listener) Resume() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.paused == nil {
		return
	}
	l.d.SetDeadline(time.Time{})
	close(l.paused)
	l.paused = nil
}

// Close closes the listener; a paused Accept returns.
func (l *Listener) Close() error {
	l.closeMu.Do(func() { close(l.closed) })
	return l.ln.Close()
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }
