package router

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// proxy is the router's one proxy path: every request for an app instance,
// whichever form it came in (see forwarded), goes through it, read top to
// bottom:
//
//  1. send: the request goes to instance i of p (the pool and instance
//     route chose by Host and affinity cookie), its head written by
//     forwarded.write, on a connection the transport reuses only when it
//     is provably clean (see Transport); if the instance cannot be reached,
//     or dies before answering a request that may be sent again, it goes
//     once to another instance of the same pool, never of another release.
//  2. an app that answers nothing gets the 502 page;
//  3. an upgrade the app accepts (101, websockets) branches off to tunnel;
//  4. any other response goes to the client: respondRaw for an exchange's
//     simple response, respond for every other;
//  5. its access line, if its app's are on, is queued once the response
//     has gone or was cut short (logProxied).
func (r *Router) proxy(f *forwarded, p *Pool, i int) {
	if f.acc.on = r.logsAccess(p.App); f.acc.on {
		f.acc.inst = p.Instances[i]
		defer r.logProxied(f, p)
	}
	start := r.started(f)
	res, err := r.send(f, p, i)
	r.observed(p, start, res, err, f)
	switch {
	case err != nil:
		w, req := f.writer()
		n := r.badGateway(w, req, p, p.Instances[i], err)
		if req.Method == http.MethodHead {
			n = 0 // the server sends no body to a HEAD
		}
		f.acc.status, f.acc.sent, f.acc.fault = http.StatusBadGateway, int64(n), faultBadGateway
		if errors.Is(req.Context().Err(), context.Canceled) {
			// Nobody read the page: the client went away first (Heroku's
			// H27, nginx's 499), which the metrics do not count either.
			f.acc.status, f.acc.sent, f.acc.fault = statusClientGone, 0, faultClientGone
		}
	case res.StatusCode == http.StatusSwitchingProtocols:
		f.tunnel(res, r)
	case !f.respondRaw(res, r):
		f.respond(res, r)
	}
}

// send sends f to instance i of p or, as nginx's proxy_next_upstream
// does, once to another instance when that one cannot be reached or fails
// before answering a request that may be sent again (see retryable).
func (r *Router) send(f *forwarded, p *Pool, i int) (*http.Response, error) {
	ctx := f.context()
	req := requestFor(f.method())
	replay := f.long == nil && f.upgrade == "" && idempotent(f.method(), f.header())
	res, err := r.transport.send(ctx, p.Instances[i].Addr, req, replay, f)
	if err == nil {
		return res, nil
	}
	may := f.long == nil && f.upgrade == "" && retryable(ctx, f.method(), err)
	return retryElsewhere(r.log, p, i, err, may, func(other *Instance) (*http.Response, error) {
		f.acc.inst = other // the instance that answers, or failed last
		return r.transport.send(ctx, other.Addr, req, replay, f)
	})
}

// context returns the request's context.
func (f *forwarded) context() context.Context {
	if f.x != nil {
		return f.x.Context()
	}
	return f.req.Context()
}

// header returns the request's header, nil for an exchange (whose fields
// name no Idempotency-Key that matters: a GET is idempotent anyway).
func (f *forwarded) header() http.Header {
	if f.x != nil {
		return nil
	}
	return f.req.Header
}

// upgrading reports whether the request asks for a protocol switch.
func (f *forwarded) upgrading() bool { return f.upgrade != "" }

// requests are the requests the transport reads responses for: only the
// method counts (a HEAD's response has no body).
var (
	getRequest  = &http.Request{Method: http.MethodGet}
	headRequest = &http.Request{Method: http.MethodHead}
)

// requestFor returns a request whose response is read as one to method.
func requestFor(method string) *http.Request {
	switch method {
	case http.MethodGet:
		return getRequest
	case http.MethodHead:
		return headRequest
	}
	return &http.Request{Method: method}
}

// started returns when f's request to an instance starts, if
// Config.Observe or its access line wants to know.
func (r *Router) started(f *forwarded) time.Time {
	if r.observe == nil && !f.acc.on {
		return time.Time{}
	}
	return time.Now()
}

// observed tells Config.Observe how a request to an instance of p that
// started at start went: res, or err (a 502 unless the client went away);
// and f's access line how long it took.
func (r *Router) observed(p *Pool, start time.Time, res *http.Response, err error, f *forwarded) {
	if start.IsZero() {
		return
	}
	d := time.Since(start)
	f.acc.service = d
	switch {
	case r.observe == nil:
	case err == nil:
		r.observe(p.App, res.StatusCode, d)
	case f.context().Err() == nil:
		r.observe(p.App, http.StatusBadGateway, 0)
	}
}

// badGateway logs a request no instance of p answered (inst, unless err
// names the one that failed last) and answers with the 502 page, never
// with the error's text, which would leak internal addresses. It returns
// the page's length.
func (r *Router) badGateway(w http.ResponseWriter, req *http.Request, p *Pool, inst *Instance, err error) int {
	failed := inst
	var ie *instanceError
	if errors.As(err, &ie) {
		failed, err = ie.inst, ie.err
	}
	if errors.Is(req.Context().Err(), context.Canceled) {
		// The client went away; nobody will read the page and it is
		// not the app's fault.
		r.log.Debug("router: client gone", "app", p.App, "release", p.Release, "instance", failed.ID, "err", err)
	} else {
		r.log.Warn("router: bad gateway", "app", p.App, "release", p.Release, "instance", failed.ID, "err", err)
	}
	return writeBadGateway(w, p.App)
}

// retryElsewhere follows a request's failed try (err) on instance i of p:
// if may, with one more try, by send, on another healthy instance of the
// same pool. It does not mark the instance down: the releaser owns
// health. The error it returns names the instance that failed last.
func retryElsewhere(log *slog.Logger, p *Pool, i int, err error, may bool, send func(other *Instance) (*http.Response, error)) (*http.Response, error) {
	inst := p.Instances[i]
	if !may {
		return nil, &instanceError{inst: inst, err: err}
	}
	alt := p.pick(i)
	if alt < 0 {
		return nil, &instanceError{inst: inst, err: err}
	}
	other := p.Instances[alt]
	log.Warn("router: instance unreachable, retrying", "app", p.App, "release", p.Release,
		"instance", inst.ID, "err", err, "retry", other.ID)

	// The outstanding count covers the retry only until the response
	// headers arrive; the request stays counted on the unreachable instance,
	// which only makes it less likely to be picked.
	other.outstanding.Add(1)
	defer other.outstanding.Add(-1)
	res, err := send(other)
	if err != nil {
		return nil, &instanceError{inst: other, err: err}
	}
	return res, nil
}

// instanceError tells badGateway which instance failed.
type instanceError struct {
	inst *Instance
	err  error
}

func (e *instanceError) Error() string { return e.inst.ID + ": " + e.err.Error() }
func (e *instanceError) Unwrap() error { return e.err }

// isDialError reports whether err means the connection to the instance
// could not be made (refused, unreachable, dial timeout), as opposed to a
// failure after the request was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryable reports whether a request of method, held whole, that failed
// with err may go to another instance. A dial error means no byte reached
// the app, so it may. Any other failure before the response headers (a
// connection reset because the instance died) may have reached the app,
// so only idempotent methods are retried, as nginx's proxy_next_upstream
// does; a request the client itself abandoned is not.
func retryable(ctx context.Context, method string, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if isDialError(err) {
		return true
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// prepare builds what p needs to serve requests: a file server for a
// static pool, and the pool's cookie slots.
func (r *Router) prepare(p *Pool) {
	if !fitsCookie(p) {
		r.log.Warn("router: release or instance id too long for an affinity cookie: sessions on this pool will not stick",
			"app", p.App, "release", p.Release)
	}
	p.cookies = make([]atomic.Pointer[issuedCookie], 2*max(1, len(p.Instances)))
	p.sessions.ttl = r.codec.ttl
	if p.StaticDir != "" {
		h, err := newStaticHandler(p.StaticDir)
		if err != nil {
			r.log.Error("router: static pool unusable", "app", p.App, "release", p.Release, "err", err)
			h = unavailableHandler(p.App)
		}
		p.static = h
	}
}

// bufferPool recycles the 32 KiB buffers response bodies are copied with.
// It stores array pointers so that Put does not allocate a slice header.
type bufferPool struct{ p sync.Pool }

const bufferSize = 32 << 10

// Get returns a buffer.
func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[bufferSize]byte); ok {
		return buf[:]
	}
	return new([bufferSize]byte)[:]
}

// Put gives a buffer back.
func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == bufferSize {
		b.p.Put((*[bufferSize]byte)(buf[:bufferSize]))
	}
}

// trustedPeer reports whether remote (host:port) is one of the trusted
// proxies.
func (r *Router) trustedPeer(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
