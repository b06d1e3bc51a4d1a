// The disconnect watch's timer: one a connection, which starts the watch of
// a request still running after disconnectWatchAfter.

package h1

import (
	"time"
)

// watcher is a request being served that the disconnect watch may watch:
// a *response or an *Exchange.
type watcher interface{ watchDisconnect() }

// armWatch starts the disconnect watch of w after disconnectWatchAfter.
func (c *conn) armWatch(w watcher) {
	now := time.Now()
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	c.watched, c.watchSince = w, now
	switch {
	case c.watchArmed: // it fires for an earlier request, and re-arms for w
	case c.watch == nil:
		c.watch = time.AfterFunc(disconnectWatchAfter, c.fireWatch)
	default:
		c.watch.Reset(disconnectWatchAfter)
	}
	c.watchArmed = true
}

// disarmWatch keeps a watch from starting for the request served.
func (c *conn) disarmWatch() {
	c.watchMu.Lock()
	c.watched = nil
	c.watchMu.Unlock()
}

// dropWatch stops the timer and lets it go: an idle connection keeps none.
func (c *conn) dropWatch() {
	c.watchMu.Lock()
	if c.watch != nil {
		c.watch.Stop()
		c.watch = nil
	}
	c.watched, c.watchArmed = nil, false
	c.watchMu.Unlock()
}

func (c *conn) fireWatch() {
	c.watchMu.Lock()
	w := c.watched
	// (A watched request has the timer armWatch made: dropWatch forgets both.)
	if wait := disconnectWatchAfter - time.Since(c.watchSince); w != nil && wait > 0 {
		c.watch.Reset(wait) // armed by an earlier request
		c.watchMu.Unlock()
		return
	}
	c.watched, c.watchArmed = nil, false // a watch starts once a request
	c.watchMu.Unlock()
	if w != nil {
		w.watchDisconnect()
	}
}
