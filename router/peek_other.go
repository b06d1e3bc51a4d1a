//go:build !linux

package router

import (
	"errors"
	"net"
	"os"
	"time"
)

// peekIdle tells what is waiting on an idle connection by a read with a
// deadline in the past, which returns at once: a timeout means nothing is
// pending. The byte it may read is lost, but then the connection is not
// used again anyway.
func peekIdle(nc net.Conn) idleState {
	nc.SetReadDeadline(aLongTimeAgo)
	defer nc.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := nc.Read(b[:])
	switch {
	case n > 0:
		return idleUnsolicited
	case errors.Is(err, os.ErrDeadlineExceeded):
		return idleClean
	}
	return idleClosed
}
