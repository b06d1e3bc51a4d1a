package router

import (
	"net"
	"syscall"
)

// peeker looks at an idle connection's socket without blocking: one
// non-blocking peek, as net/http's transport learns it with the background
// read it keeps on every idle connection. Built once per connection, so
// that a peek allocates nothing.
type peeker struct {
	raw   syscall.RawConn // nil if the connection has no socket
	read  func(fd uintptr) bool
	state idleState
}

func (p *peeker) init(nc net.Conn) {
	if sc, ok := nc.(syscall.Conn); ok {
		p.raw, _ = sc.SyscallConn()
	}
	p.read = p.peekFD
}

func (p *peeker) peekFD(fd uintptr) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		p.state = idleClean // nothing pending
	case err == nil && n > 0:
		p.state = idleUnsolicited
	default: // end of file, or an error such as a reset
		p.state = idleClosed
	}
	return true
}

// peekIdle tells what is waiting on c, which is idle.
func peekIdle(c *conn) idleState {
	if c.peek.raw == nil {
		return idleClean
	}
	if err := c.peek.raw.Read(c.peek.read); err != nil {
		return idleClosed
	}
	return c.peek.state
}
