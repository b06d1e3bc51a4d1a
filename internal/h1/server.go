// Server: its fields, Serve, Shutdown and Close.

package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults, as http.Server's.
const (
	DefaultMaxHeaderBytes = http.DefaultMaxHeaderBytes
	// maxPostHandlerReadBytes is how much of a request body the handler
	// left unread is read away to keep the connection; more closes it.
	maxPostHandlerReadBytes = 256 << 10
	// bufferBeforeChunking is how much of a response of unknown length is
	// held, so that a short one gets a Content-Length instead of chunks.
	bufferBeforeChunking = 2048
	// disconnectWatchAfter is how long a request runs before its client
	// connection is watched for going away (its context is then canceled).
	disconnectWatchAfter = 50 * time.Millisecond
)

// Server serves Handler on the connections of a listener. Set its fields
// before Serve.
type Server struct {
	Handler http.Handler
	// ReadHeaderTimeout bounds reading a request's headers, from its first
	// byte; IdleTimeout the wait for the next request on a connection.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes bounds the request line and headers (431 beyond), as
	// http.Server's field of the name; 0 means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ConnContext, when set, returns the context of a new connection's
	// requests, as http.Server's field of the name.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// ConnState, when set, hears of new and closed (or hijacked)
	// connections, with http.StateNew, http.StateClosed and
	// http.StateHijacked.
	ConnState func(net.Conn, http.ConnState)
	// TLSNextProto takes over a TLS connection whose handshake chose a
	// protocol other than HTTP/1.x, by its ALPN name ("h2"); one with no
	// entry is closed.
	TLSNextProto map[string]func(*tls.Conn)
	Logger       *slog.Logger

	std     *http.Server // for http.ServerContextKey: see asHTTPServer
	stdOnce sync.Once

	mu       sync.Mutex
	ln       net.Listener
	parker   parker // idle connections without a goroutine (park_linux.go)
	conns    map[*conn]struct{}
	shutdown atomic.Bool
}

// asHTTPServer returns an http.Server with s's Handler, timeouts and
// limits, which is the value of http.ServerContextKey in s's request
// contexts. Nothing serves with it.
func (s *Server) asHTTPServer() *http.Server {
	s.stdOnce.Do(func() {
		s.std = &http.Server{Handler: s.Handler, ReadHeaderTimeout: s.ReadHeaderTimeout, IdleTimeout: s.IdleTimeout,
			MaxHeaderBytes: s.MaxHeaderBytes}
	})
	return s.std
}

// ErrServerClosed is what Serve returns after Shutdown.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections on ln and serves each in its own goroutine,
// until Shutdown or Close; it then returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	s.ln = ln
	s.mu.Unlock()
	if s.shutdown.Load() {
		ln.Close()
		return ErrServerClosed
	}
	var delay time.Duration
	for {
		rwc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			if temporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &conn{srv: s, rwc: rwc, remoteAddr: rwc.RemoteAddr().String()}
		s.mu.Lock()
		if s.shutdown.Load() {
			s.mu.Unlock()
			rwc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		if s.ConnState != nil {
			s.ConnState(rwc, http.StateNew)
		}
		go c.serve()
	}
}

// temporary reports whether an accept error passes (out of descriptors
// or memory, a connection reset before it was accepted): Serve waits a
// little and accepts again, as http.Server does, instead of stopping.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Shutdown stops accepting, closes the idle connections, waits for the
// requests in flight to finish (their connections close after them) until
// ctx is done, and then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	defer s.parker.stop()
	for {
		if s.closeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	s.unparkAll()
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.rwc.Close()
	}
	s.mu.Unlock()
	s.parker.stop()
	return nil
}

// closeIdle closes the connections waiting for a request and returns how
// many are left.
func (s *Server) closeIdle() int {
	s.unparkAll()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			c.rwc.Close()
		}
	}
	return len(s.conns)
}

func (s *Server) forget(c *conn, state http.ConnState) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if s.ConnState != nil {
		s.ConnState(c.rwc, state)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.Logger != nil {
		s.Logger.Debug(fmt.Sprintf(format, args...))
	}
}
