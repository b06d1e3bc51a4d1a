package router

import (
	"sync"
	"sync/atomic"
	"time"
)

// clockResolution is how often the router's clock advances: fine enough for
// cookie times (whole seconds) and Pool.LastSeen.
const clockResolution = 250 * time.Millisecond

// clock is a coarse wall clock. A goroutine stores the time every
// clockResolution, so that the request path pays one atomic load instead of
// a time.Now call.
type clock struct {
	ns   atomic.Int64 // unix nanoseconds; 0 once stopped
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// newClock returns a running clock; stop it with close.
func newClock(resolution time.Duration) *clock {
	c := &clock{stop: make(chan struct{}), done: make(chan struct{})}
	c.ns.Store(time.Now().UnixNano())
	go c.run(resolution)
	return c
}

func (c *clock) run(resolution time.Duration) {
	defer close(c.done)
	t := time.NewTicker(resolution)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			c.ns.Store(now.UnixNano())
		}
	}
}

// now returns the time in unix nanoseconds, at most one resolution old
// while the clock runs and exact after close.
func (c *clock) now() int64 {
	if ns := c.ns.Load(); ns != 0 {
		return ns
	}
	return time.Now().UnixNano()
}

// close stops the clock's goroutine. Later calls to now read time.Now.
func (c *clock) close() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.ns.Store(0)
	})
}
