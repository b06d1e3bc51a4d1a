package gitserver

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gliderlabs/ssh"
)

// Limits bound the ssh listener against floods, as OpenSSH's
// LoginGraceTime and MaxStartups do, with a cap per client address.
type Limits struct {
	// LoginGrace is how long a connection has to authenticate; it is
	// closed then. Default 30s.
	LoginGrace time.Duration
	// Unauthenticated connections beyond StartupsBegin are dropped at
	// random, with probability StartupsRate percent rising linearly to
	// 100 at StartupsFull (OpenSSH's MaxStartups 10:30:100).
	StartupsBegin, StartupsRate, StartupsFull int
	// PerAddress caps the unauthenticated connections from one address.
	// Default 10.
	PerAddress int
}

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.LoginGrace <= 0 {
		l.LoginGrace = 30 * time.Second
	}
	if l.StartupsFull <= 0 {
		l.StartupsBegin, l.StartupsRate, l.StartupsFull = 10, 30, 100
	}
	l.StartupsBegin = min(max(l.StartupsBegin, 1), l.StartupsFull)
	if l.PerAddress <= 0 {
		l.PerAddress = 10
	}
	return l
}

// gate admits ssh connections within the limits and ends those that do
// not authenticate in time.
type gate struct {
	limits Limits

	mu      sync.Mutex
	unauth  int            // connections not authenticated yet
	byAddr  map[string]int // of them, by client address
	dropped atomic.Int64
}

func newGate(l Limits) *gate { return &gate{limits: l.withDefaults(), byAddr: map[string]int{}} }

// pendingKey is the ssh.Context key of a connection's pending login.
type pendingKey struct{}

// pending is one connection that has yet to authenticate.
type pending struct {
	g     *gate
	addr  string
	once  sync.Once
	timer *time.Timer
}

// release stops counting the connection as unauthenticated.
func (p *pending) release() {
	p.once.Do(func() {
		p.timer.Stop()
		g := p.g
		g.mu.Lock()
		g.unauth--
		if g.byAddr[p.addr]--; g.byAddr[p.addr] <= 0 {
			delete(g.byAddr, p.addr)
		}
		g.mu.Unlock()
	})
}

// admit is the server's ConnCallback: nil drops the connection.
func (g *gate) admit(ctx ssh.Context, c net.Conn) net.Conn {
	addr, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		addr = c.RemoteAddr().String()
	}
	l := g.limits
	g.mu.Lock()
	drop := g.byAddr[addr] >= l.PerAddress || g.unauth >= l.StartupsFull
	if !drop && g.unauth >= l.StartupsBegin {
		span := max(l.StartupsFull-l.StartupsBegin, 1)
		p := l.StartupsRate + (100-l.StartupsRate)*(g.unauth-l.StartupsBegin)/span
		drop = rand.IntN(100) < p
	}
	if drop {
		g.mu.Unlock()
		g.dropped.Add(1)
		return nil
	}
	g.unauth++
	g.byAddr[addr]++
	g.mu.Unlock()
	p := &pending{g: g, addr: addr}
	p.timer = time.AfterFunc(l.LoginGrace, func() { c.Close() }) // release follows with Close
	ctx.SetValue(pendingKey{}, p)
	return &gatedConn{Conn: c, p: p}
}

// authenticated marks ctx's connection as logged in: the grace no longer
// runs and it leaves the unauthenticated count.
func (g *gate) authenticated(ctx ssh.Context) {
	if p, ok := ctx.Value(pendingKey{}).(*pending); ok {
		p.release()
	}
}

// gatedConn releases its pending login when it closes.
type gatedConn struct {
	net.Conn
	p *pending
}

func (c *gatedConn) Close() error {
	c.p.release()
	return c.Conn.Close()
}
