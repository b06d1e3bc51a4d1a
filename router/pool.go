package router

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
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

// Pool is the set of instances serving one release of an app.
type Pool struct {
	App       string
	Release   string      // "v3"
	Instances []*Instance // may be empty for a static pool
	StaticDir string      // when non-empty, the router serves files from this directory itself and ignores Instances

	prepared sync.Once                // builds proxies or static on first SetLive
	proxies  []*httputil.ReverseProxy // proxies[i] forwards to Instances[i]
	static   http.Handler             // non-nil for a static pool
	inflight atomic.Int64             // requests being served by this pool now
	next     atomic.Uint32            // round-robin start for pick
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

// InFlight returns how many requests are being proxied to pool p right now,
// including open websocket connections, so that the releaser can wait for
// them to finish before stopping the old pool.
func (r *Router) InFlight(p *Pool) int64 {
	if p == nil {
		return 0
	}
	return p.inflight.Load()
}

// WaitIdle blocks until InFlight(p) is 0 or ctx is done; in the latter case
// it returns an error wrapping ctx.Err(). Call it after p stopped being live,
// or new requests may keep it busy.
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
