package router

import (
	"bufio"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slipway/slipway/internal/h1"
	"github.com/slipway/slipway/internal/httphead"
)

// The router's raw path. The lean server (internal/h1) offers the usual
// request, a plain GET, as an h1.Exchange, with no http.Request made for
// it: ServeSimple routes it by its Host and affinity cookie as ServeHTTP
// does, writes its head to the instance from the client's header lines,
// and, when the app's response is simple (see readResponse) and says its
// Content-Type, writes that response's head to the client from the app's
// lines, in the same buffer as its body. What either side gets is what the
// router's own path (forward.go) sends, which is ReverseProxy's:
// TestForward_SameAsReverseProxy, run over the lean server too, compares
// them. Every other request (an unknown app, maintenance, a static pool,
// a trusted proxy's) is declined, to be served by ServeHTTP, and every
// other response, or a failure, goes out through the exchange's
// http.ResponseWriter with forward.go's code.

// ServeSimple implements h1.SimpleHandler.
func (r *Router) ServeSimple(x *h1.Exchange) bool {
	if r.direct == nil || (len(r.trusted) > 0 && r.trustedPeer(x.RemoteAddr())) {
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
	case rt.pool.static != nil:
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
	f := exchanges.Get().(*exchanged)
	f.x = x
	if rt.issue {
		f.cookie = r.issue(app, p, rt.inst, sec, secureFields(x.TLS(), x.Fields()))
	}
	inst := p.Instances[rt.inst]
	inst.outstanding.Add(1)
	defer inst.outstanding.Add(-1)
	r.proxyExchange(f, p, rt.inst)
	// Not after a panic (an aborted response through the writer), which
	// skips this.
	*f = exchanged{}
	exchanges.Put(f)
}

// proxyExchange proxies f to instance i of p and answers the client.
func (r *Router) proxyExchange(f *exchanged, p *Pool, i int) {
	start := r.started()
	res, err := r.sendExchange(f, p, i)
	r.observed(f.x.Context(), p, start, res, err)
	if err != nil {
		w, req := f.writer()
		r.errorHandler(p, p.Instances[i])(w, req, err)
		return
	}
	if !f.respondRaw(res, r) {
		f.writer()
		f.respond(res, r)
	}
}

// exchanges recycles the exchanged of finished exchanges: nothing holds
// one after its response is written (the transport's connection is back
// in its stack, the body closed, and what the client's response header
// keeps are strings of the app's response head).
var exchanges = sync.Pool{New: func() any { return new(exchanged) }}

// simpleGET is the request a response to an exchange is read for: only its
// method counts.
var simpleGET = &http.Request{Method: http.MethodGet}

// sendExchange is send for an exchange, which has no body and may be sent
// again.
func (r *Router) sendExchange(f *exchanged, p *Pool, i int) (*http.Response, error) {
	ctx := f.x.Context()
	res, err := r.direct.send(ctx, p.Instances[i].Addr, simpleGET, true, f)
	if err == nil {
		return res, nil
	}
	return retryElsewhere(r.log, p, i, err, ctx.Err() == nil, func(other *Instance) (*http.Response, error) {
		return r.direct.send(ctx, other.Addr, simpleGET, true, f)
	})
}

// exchanged is an exchange on the router's raw path: the outbound request
// the transport writes from it, and, once its ResponseWriter is made, a
// forwarded request for forward.go's code to answer.
type exchanged struct {
	forwarded // its w and req are set by writer
	x         *h1.Exchange
	cookie    *issuedCookie // the affinity cookie to set, or nil
}

// writer makes the exchange's ResponseWriter, with the affinity cookie in
// its header, for an interim response, an error page or a response
// respondRaw does not take.
func (f *exchanged) writer() (http.ResponseWriter, *http.Request) {
	if f.w == nil {
		f.w, f.req = f.x.Writer()
		if f.cookie != nil {
			f.cookie.set(f.w.Header())
		}
	}
	return f.w, f.req
}

// write writes the request to the instance as forwarded.write does: its
// target as it came (h1 checked that RequestURI gives it back), the
// client's header lines less the dropped ones, with canonical names and
// trimmed values as http.Request.Write writes them, the first User-Agent
// only, and the forwarding headers from the connection.
func (f *exchanged) write(bw *bufio.Writer) error {
	x := f.x
	bw.WriteString("GET ")
	bw.WriteString(x.Target())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(x.Host())
	bw.WriteString("\r\n")
	agent := false
	for rest := x.Fields(); rest != ""; {
		var name, value string
		name, value, rest = httphead.Next(rest)
		k := httphead.Canonical(name)
		if k == "User-Agent" {
			if !agent && value != "" {
				writeField(bw, k, value)
			}
			agent = true
			continue
		}
		if outboundDropped(k) || (k == "Close" && x.Close()) {
			continue // (a Connection header lists close and keep-alive at most)
		}
		writeField(bw, k, value)
	}
	return endHead(bw, x.RemoteAddr(), x.Host(), x.TLS())
}

// interim passes an interim response on through the exchange's
// ResponseWriter, as forwarded.interim does.
func (f *exchanged) interim(code int, h http.Header) (bool, error) {
	f.writer()
	return f.forwarded.interim(code, h)
}

// respondRaw sends res to the client as forwarded.respond would, if it is a
// simple response (its lines in f's slots) with a Content-Type other than
// text/event-stream and no ResponseWriter was made: its status line, the
// affinity cookie, its header lines less the hop-by-hop ones (canonical
// names, values trimmed as h1 writes them), a Date if it has none, and its
// body, in one buffer. It reports false, having written nothing, for any
// other response.
func (f *exchanged) respondRaw(res *http.Response, r *Router) bool {
	lines, _, ok := f.room.rawHeader(res)
	if !ok || f.w != nil {
		return false
	}
	typed, dated := false, false
	for rest := lines; rest != ""; {
		var name, value string
		name, value, rest = httphead.Next(rest)
		switch {
		case httphead.Is(name, "Content-Type"):
			if isEventStreamType(value) {
				return false // flushed as it comes
			}
			typed = true
		case httphead.Is(name, "Date"):
			dated = true
		}
	}
	if !typed {
		return false // h1 would sniff one from the body
	}
	bw := f.x.Begin(res.StatusCode)
	if f.cookie != nil {
		bw.WriteString("Set-Cookie: ")
		bw.WriteString(f.cookie.line[0])
		bw.WriteString("\r\n")
	}
	for rest := lines; rest != ""; {
		var name, value string
		name, value, rest = httphead.Next(rest)
		if k := httphead.Canonical(name); !hopByHop(k) {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(strings.TrimSpace(value))
			bw.WriteString("\r\n")
		}
	}
	f.x.EndHead(dated)
	if err := r.copyBody(bw, res.Body, nil); err != nil {
		f.x.Abort()
	}
	res.Body.Close()
	return true
}
