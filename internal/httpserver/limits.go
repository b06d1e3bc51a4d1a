package httpserver

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway/slipway/internal/netcap"
)

// ConnLimit caps open connections in all and by client address, so that a
// flood from a few clients cannot take every file descriptor: a connection
// beyond either cap is closed as soon as it is accepted. One ConnLimit may
// serve several servers (the router's HTTP and HTTPS listeners).
//
// With PerNetwork set, it counts by network instead and never refuses a
// newcomer: at a cap, the oldest connection of the network over its
// share is closed (netcap), so that a flood, however many addresses it
// comes from, cannot lock out a client of another network (the admin
// listener). PerAddress is then unused.
type ConnLimit struct {
	Total, PerAddress int
	PerNetwork        int

	mu      sync.Mutex
	open    int
	byAddr  map[string]int
	refused atomic.Int64
	room    netcap.Table
	once    sync.Once
}

// Refused returns how many connections the caps have closed.
func (l *ConnLimit) Refused() int64 { return l.refused.Load() + l.room.Evicted() }

// table returns the make-room table, or nil when connections are counted
// by address.
func (l *ConnLimit) table() *netcap.Table {
	if l.PerNetwork <= 0 {
		return nil
	}
	l.once.Do(func() { l.room.Total, l.room.PerNetwork = l.Total, l.PerNetwork })
	return &l.room
}

// take counts a new connection from addr, unless a cap is reached.
func (l *ConnLimit) take(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byAddr == nil {
		l.byAddr = map[string]int{}
	}
	if l.Total > 0 && l.open >= l.Total || l.PerAddress > 0 && l.byAddr[addr] >= l.PerAddress {
		return false
	}
	l.open++
	l.byAddr[addr]++
	return true
}

func (l *ConnLimit) give(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

// limitListener applies a ConnLimit to what it accepts.
type limitListener struct {
	net.Listener
	l *ConnLimit
}

func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if t := ln.l.table(); t != nil {
			lc := &limitedConn{Conn: c}
			lc.entry = t.Entry(c.RemoteAddr().String(), func() { lc.Close() })
			lc.entry.Add()
			return lc, nil
		}
		addr, _, err := net.SplitHostPort(c.RemoteAddr().String())
		if err != nil {
			addr = c.RemoteAddr().String()
		}
		if !ln.l.take(addr) {
			ln.l.refused.Add(1)
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: ln.l, addr: addr}, nil
	}
}

// limitedConn gives its place back when it closes.
type limitedConn struct {
	net.Conn
	l     *ConnLimit // counted by address, or
	entry *netcap.Entry
	addr  string
	once  sync.Once
}

// NetConn returns the connection it wraps (h1 parks idle ones by their
// socket).
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		if c.entry != nil {
			c.entry.Remove()
			return
		}
		c.l.give(c.addr)
	})
	return c.Conn.Close()
}

// progressBody is a request body that must keep moving: each read gets
// the body timeout to bring something (nginx's client_body_timeout).
type progressBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	timeout  time.Duration
	timedOut atomic.Bool
}

func (b *progressBody) Read(p []byte) (int, error) {
	b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		b.timedOut.Store(true)
	}
	if err == io.EOF {
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// bodyTimeoutWriter answers 408, and closes the connection, in place of
// whatever the handler answers once the request's body stopped moving.
type bodyTimeoutWriter struct {
	http.ResponseWriter
	body    *progressBody
	swallow bool
}

func (w *bodyTimeoutWriter) WriteHeader(code int) {
	if w.swallow {
		return
	}
	if w.body.timedOut.Load() {
		w.swallow = true
		h := w.Header()
		for k := range h {
			delete(h, k)
		}
		h.Set("Connection", "close")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.ResponseWriter.WriteHeader(http.StatusRequestTimeout)
		io.WriteString(w.ResponseWriter, "408 request body timeout: the body stopped arriving\n")
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *bodyTimeoutWriter) Write(b []byte) (int, error) {
	if !w.swallow && w.body.timedOut.Load() {
		w.WriteHeader(http.StatusRequestTimeout)
	}
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *bodyTimeoutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
