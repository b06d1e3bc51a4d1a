package gitserver

import (
	"net"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/slipway/slipway/internal/netcap"
)

// Limits bound the ssh listener against floods of connections that do
// not log in, as OpenSSH's LoginGraceTime and MaxStartups do, but by
// network and without refusing a newcomer: a flood displaces only its
// own network's oldest connections (see netcap), so a client from
// another network always gets its turn to log in, and a connection that
// logged in no longer counts at all.
type Limits struct {
	// LoginGrace is how long a connection has to authenticate; it is
	// closed then. Default 30s.
	LoginGrace time.Duration
	// MaxStartups caps the connections not logged in yet, in all; at the
	// cap, the oldest of the network holding the most is closed. Default
	// 100.
	MaxStartups int
	// PerNetwork caps them by network (a /24 of IPv4, a /64 of IPv6); at
	// the cap, the network's oldest is closed. Default 10.
	PerNetwork int
}

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.LoginGrace <= 0 {
		l.LoginGrace = 30 * time.Second
	}
	if l.MaxStartups <= 0 {
		l.MaxStartups = 100
	}
	if l.PerNetwork <= 0 {
		l.PerNetwork = 10
	}
	l.PerNetwork = min(l.PerNetwork, l.MaxStartups)
	return l
}

// gate counts the ssh connections that have not logged in and ends those
// that do not in time.
type gate struct {
	limits  Limits
	pending netcap.Table
}

func newGate(l Limits) *gate {
	g := &gate{limits: l.withDefaults()}
	g.pending.Total, g.pending.PerNetwork = g.limits.MaxStartups, g.limits.PerNetwork
	return g
}

// pendingKey is the ssh.Context key of a connection's pending login.
type pendingKey struct{}

// pending is one connection that has yet to log in.
type pending struct {
	entry *netcap.Entry
	once  sync.Once
	timer *time.Timer
}

// release stops counting the connection as not logged in.
func (p *pending) release() {
	p.once.Do(func() {
		p.timer.Stop()
		p.entry.Remove()
	})
}

// admit is the server's ConnCallback: every connection is let in and
// counted; the table closes an older one when it needs the room.
func (g *gate) admit(ctx ssh.Context, c net.Conn) net.Conn {
	p := &pending{}
	p.timer = time.AfterFunc(g.limits.LoginGrace, func() { c.Close() }) // release follows with Close
	gc := &gatedConn{Conn: c, p: p}
	p.entry = g.pending.Entry(c.RemoteAddr().String(), func() { gc.Close() })
	p.entry.Add()
	ctx.SetValue(pendingKey{}, p)
	return gc
}

// authenticated marks ctx's connection as logged in: the grace no longer
// runs and it leaves the count. It is called once the connection opens a
// session, which it can only do logged in: a key offered without its
// signature (public keys are public) does not count.
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
