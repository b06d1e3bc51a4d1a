package router

import (
	"net"
	"syscall"
)

// peekIdle tells what is waiting on an idle connection, without blocking:
// one non-blocking peek at the socket, as net/http's transport learns it
// with the background read it keeps on every idle connection.
func peekIdle(nc net.Conn) idleState {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return idleClean
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return idleClosed
	}
	state := idleClean
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
			// nothing pending
		case err == nil && n > 0:
			state = idleUnsolicited
		default: // end of file, or an error such as a reset
			state = idleClosed
		}
		return true
	})
	return state
}
