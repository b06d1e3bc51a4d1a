package httpserver

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// h2conns serves the HTTP/2 connections the lean server hands over after
// their TLS handshake with net/http's own server (its HTTP/2), which takes
// them from a listener of handed-over connections, and ends them
// gracefully at shutdown: GOAWAY, then the requests in flight finish.
type h2conns struct {
	srv  *http.Server
	ln   *handedListener
	done chan struct{}
}

func newH2Conns(base *http.Server) *h2conns {
	// A server of its own, without the ConnState hook: the lean server
	// counted the connection already.
	srv := &http.Server{
		Handler: base.Handler, ReadHeaderTimeout: base.ReadHeaderTimeout, IdleTimeout: base.IdleTimeout,
		MaxHeaderBytes: base.MaxHeaderBytes, ErrorLog: base.ErrorLog,
	}
	h := &h2conns{srv: srv, ln: &handedListener{conns: make(chan net.Conn), closed: make(chan struct{})}, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		srv.Serve(h.ln) // it sees *tls.Conn that chose h2: its HTTP/2 takes them
	}()
	return h
}

// serve hands a connection that chose h2 to the server.
func (h *h2conns) serve(c *tls.Conn) {
	if !h.ln.hand(c) {
		c.Close()
	}
}

// shutdown sends every connection GOAWAY and waits for their requests
// until ctx is done, then closes what is left.
func (h *h2conns) shutdown(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	if err != nil {
		h.srv.Close()
	}
	<-h.done
	return err
}

// handedListener accepts the connections handed to it.
type handedListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *handedListener) hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handedListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handedListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handedListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
