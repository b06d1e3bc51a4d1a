package router

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Instance is one running process of a pool that the router may send
// requests to. New instances are healthy.
type Instance struct {
	ID   string // e.g. "web.1"
	Addr string // host:port

	down        atomic.Bool  // inverted so that the zero value is healthy
	outstanding atomic.Int64 // requests being proxied to this instance now
}

// SetHealthy marks the instance as able (true) or unable (false) to take
// requests. The router sends new requests only to healthy instances.
func (i *Instance) SetHealthy(ok bool) { i.down.Store(!ok) }

// Healthy reports whether the instance may take new requests.
func (i *Instance) Healthy() bool { return !i.down.Load() }

// Outstanding returns how many requests are being proxied to i right now,
// so that a caller replacing i can stop it once they have finished.
func (i *Instance) Outstanding() int64 { return i.outstanding.Load() }

// Pool is the set of instances serving one release of an app. A pool is
// live (it takes new clients), draining (it was live and still takes the
// clients whose sessions are pinned to it) or out of the router.
type Pool struct {
	App       string
	Release   string      // "v3"; affinity cookies name the pool by it
	Instances []*Instance // may be empty for a static pool
	StaticDir string      // when non-empty, the router serves files from this directory itself and ignores Instances

	prepared      sync.Once                      // builds static and the cookie slots on first SetLive
	static        http.Handler                   // non-nil for a static pool
	inflight      atomic.Int64                   // requests being served by this pool now
	next          atomic.Uint32                  // round-robin start for pick
	lastSeen      atomic.Int64                   // unix ns of the router clock at the last request
	cookies       []atomic.Pointer[issuedCookie] // [2*i+tls]: last cookie for instance i (0 when static)
	drainingSince atomic.Int64                   // unix ns when it stopped being live; 0 while live
	sessions      sessionSet                     // the sessions seen since it drains
	sleep         *sleeper                       // set on a sleeping pool (Sleep): no instances, woken by a pinned request
}

// InFlight returns how many requests are being served by p right now,
// including open websocket connections.
func (p *Pool) InFlight() int64 { return p.inflight.Load() }

// LastSeen returns when the router last routed a request to p (to within a
// second), or the zero time if it never did. For a draining pool that is the
// last time one of its sessions was seen. The router issues cookies for p
// only on requests to p, and they expire SessionTTL after issue, so once a
// draining pool has been idle for SessionTTL and InFlight is 0, no client
// can reach it any more and retiring it moves nobody.
func (p *Pool) LastSeen() time.Time { return unixTime(p.lastSeen.Load()) }

// DrainingSince returns when p stopped being live, or the zero time while
// it is live or was never live. A pool replaced by one of the same Release
// stops being live without draining.
func (p *Pool) DrainingSince() time.Time { return unixTime(p.drainingSince.Load()) }

// Sessions returns how many sessions pinned to p the router has seen since
// p drains whose cookies are still valid (see sessionSet): 0 while p is
// live. At most maxTrackedSessions.
func (p *Pool) Sessions() int {
	if p.drainingSince.Load() == 0 {
		return 0
	}
	return p.sessions.count(time.Now().Unix())
}

// seen records a request at now (unix ns). It writes only when the clock
// has advanced, so busy pools do not contend on the cache line, and never
// moves LastSeen backwards.
func (p *Pool) seen(now int64) {
	for {
		last := p.lastSeen.Load()
		if last >= now || p.lastSeen.CompareAndSwap(last, now) {
			return
		}
	}
}

// index returns the index of the instance with the given ID, or -1.
func (p *Pool) index(id []byte) int {
	for i, inst := range p.Instances {
		if inst.ID == string(id) {
			return i
		}
	}
	return -1
}

// unixTime converts unix nanoseconds to a time, with 0 as the zero time.
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// pick returns the index of the healthy instance with the fewest outstanding
// requests, skipping index skip, or -1 if there is none. Least-outstanding
// evens out slow requests better than plain round robin: an instance stuck
// on a long request stops getting new ones until it catches up. Ties, which
// are the usual case under light load, go round robin by rotating where the
// scan starts.
func (p *Pool) pick(skip int) int {
	n := len(p.Instances)
	if n == 0 {
		return -1
	}
	best, bestLoad := -1, int64(0)
	j := int(p.next.Add(1) % uint32(n))
	for range n {
		if inst := p.Instances[j]; j != skip && inst.Healthy() {
			if load := inst.outstanding.Load(); best < 0 || load < bestLoad {
				best, bestLoad = j, load
			}
		}
		if j++; j == n {
			j = 0
		}
	}
	return best
}

// WaitIdle blocks until no request is in flight on p or ctx is done; in the latter case
// it returns an error wrapping ctx.Err(). Call it after Retire(p): a live or
// draining pool keeps getting new requests, so it may never go idle.
func (r *Router) WaitIdle(ctx context.Context, p *Pool) error {
	if p == nil {
		return nil
	}
	// Polling keeps the request path free of wake-up bookkeeping; the delay
	// grows so a long drain costs little, and stays short so a release is
	// not held up noticeably.
	const maxWait = 50 * time.Millisecond
	wait := time.Millisecond
	for {
		n := p.inflight.Load()
		if n == 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("router: wait for %s %s to go idle (%d requests in flight): %w", p.App, p.Release, n, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
	}
}
