//go:build !linux

package router

import (
	"errors"
	"net"
	"os"
	"time"
)

// peeker has nothing to keep where a peek is a read with a deadline.
type peeker struct{}

func (p *peeker) init(net.Conn) {}

// peekIdle tells what is waiting on c, which is idle, by a read with a
// deadline in the past, which returns at once: a timeout means nothing is
// pending. The byte it may read is lost, but then the connection is not
// used again anyway.
func peekIdle(c *conn) idleState {
	c.nc.SetReadDeadline(aLongTimeAgo)
	defer c.nc.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := c.nc.Read(b[:])
	switch {
	case n > 0:
		return idleUnsolicited
	case errors.Is(err, os.ErrDeadlineExceeded):
		return idleClean
	}
	return idleClosed
}
