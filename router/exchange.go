package router

import (
	"sync"
	"time"

	"github.com/slipway/slipway/internal/h1"
)

// The lean server (internal/h1) offers the usual request, a plain GET, as
// an h1.Exchange, with no http.Request made for it: ServeSimple routes it
// by its Host and affinity cookie as ServeHTTP does and hands it to the
// one proxy path (proxy) as a forwarded request, which writes its head
// from the client's header lines and, when the app's response is simple,
// that response's head from the app's lines (respondRaw). Every other
// request (an unknown app, maintenance, a static pool, a trusted proxy's)
// is declined, to be served by ServeHTTP.

// ServeSimple implements h1.SimpleHandler.
func (r *Router) ServeSimple(x *h1.Exchange) bool {
	if len(r.trusted) > 0 && r.trustedPeer(x.RemoteAddr()) {
		return false
	}
	name, ok := r.appName(x.Host())
	if !ok {
		return false
	}
	if m := *r.maint.Load(); len(m) > 0 {
		if _, in := m[name]; in {
			return false
		}
	}
	now := r.clock.now()
	sec := now / int64(time.Second)
	var raw [maxRaw]byte
	var pin *ticket
	if t, ok := r.readCookieFields(&raw, x.Fields(), name, sec); ok {
		pin = &t
	}
	rt, _ := r.route(name, pin, sec)
	switch {
	case rt.pool == nil:
		return false
	case rt.pool.static != nil || rt.wake:
		rt.pool.inflight.Add(-1) // served by ServeHTTP
		return false
	}
	r.serveExchange(x, name, rt, now)
	return true
}

// serveExchange is serve for an exchange on rt.pool, which the caller has
// acquired.
func (r *Router) serveExchange(x *h1.Exchange, app string, rt route, now int64) {
	p := rt.pool
	defer p.inflight.Add(-1)
	sec := rt.visit(now, x.RemoteAddr())
	f := exchanges.Get().(*forwarded)
	f.x = x
	if rt.issue {
		f.cookie = r.issue(app, p, rt.inst, sec, secureFields(x.TLS(), x.Fields()))
	}
	f.acc.pinned = rt.pinned != 0
	inst := p.Instances[rt.inst]
	inst.outstanding.Add(1)
	defer inst.outstanding.Add(-1)
	r.proxy(f, p, rt.inst)
	// Not after a panic (an aborted response through the writer), which
	// skips this.
	*f = forwarded{}
	exchanges.Put(f)
}

// exchanges recycles the forwarded of finished exchanges: nothing holds
// one after its response is written (the transport's connection is back
// in its stack, the body closed, and what the client's response header
// keeps are strings of the app's response head).
var exchanges = sync.Pool{New: func() any { return new(forwarded) }}
