package router

import (
	"strings"
)

// Test-only views of the router's table: production code never needs them,
// since the releaser keeps its own pools.

// InFlight returns p.InFlight(), or 0 for a nil pool: how many requests are
// being served by p right now, including open websocket connections, so
// that the releaser can wait for them to finish before stopping the pool.
func (r *Router) InFlight(p *Pool) int64 {
	if p == nil {
		return 0
	}
	return p.inflight.Load()
}

// Live returns the live pool of app, or nil.
func (r *Router) Live(app string) *Pool {
	if a := (*r.apps.Load())[strings.ToLower(app)]; a != nil {
		return a.state.Load().live
	}
	return nil
}
