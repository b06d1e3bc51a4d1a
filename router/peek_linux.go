package router

import (
	"net"
	"syscall"
)

// peerClosed reports whether the peer of an idle connection has closed it
// (or sent something unasked, which makes it as unusable), without
// blocking: one non-blocking peek at the socket.
func peerClosed(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		// Data or end of file (err == nil) or an error such as a reset:
		// the connection cannot carry a request. EAGAIN: nothing pending.
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = err != syscall.EAGAIN && err != syscall.EINTR
		return true
	})
	return closed
}
