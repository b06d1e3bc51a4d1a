package gitserver

import (
	"net"
	"syscall"
)

// OpenSSH's client leaves Nagle's algorithm on for non-interactive sessions
// (git's), and writes some handshake messages as two small segments: the
// second waits for the ACK of the first, which Linux delays by 40 ms when it
// has nothing to send back. Two such waits made a third of an `ssh … version`
// round trip. A server socket in quick-ACK mode answers each segment at once;
// Linux leaves that mode by itself, so it is asked for again before each
// read (one setsockopt, on reads that are buffered by the ssh layer).

// quickAckListener hands out connections that ACK every segment at once.
type quickAckListener struct{ net.Listener }

func (l quickAckListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	return &quickAckConn{TCPConn: tc, raw: raw}, nil
}

type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(p)
}
