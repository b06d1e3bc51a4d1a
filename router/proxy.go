package router

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// prepare builds what p needs to serve requests: a file server for a static
// pool, otherwise one ReverseProxy per instance, so that no request pays for
// building one.
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
		return
	}
	p.proxies = make([]*httputil.ReverseProxy, len(p.Instances))
	for i := range p.Instances {
		p.proxies[i] = r.newProxy(p, i)
	}
}

// finalWriter is the ResponseWriter ReverseProxy gets when the router has
// set headers of its own for the response (the affinity cookie). An app's
// 103 Early Hints (or other interim response) goes to the client without
// them, and they are put back for the final response: ReverseProxy sends
// whatever the writer's headers hold with an interim response and then
// clears them, and browsers read only Link headers from a 103, so the
// session would not be pinned. The router's own path (forwarded.interim)
// does the same without a wrapper.
type finalWriter struct {
	http.ResponseWriter
	own     http.Header // the router's headers, as they were before the app answered
	interim bool        // an interim response went out without them
}

// keepForFinal wraps w, whose headers now are the router's own.
func keepForFinal(w http.ResponseWriter) *finalWriter {
	return &finalWriter{ResponseWriter: w, own: w.Header().Clone()}
}

// Unwrap gives http.ResponseController (Flush, Hijack, deadlines) the
// server's writer.
func (f *finalWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

func (f *finalWriter) WriteHeader(code int) {
	h := f.ResponseWriter.Header()
	switch {
	case code >= 100 && code < 200 && code != http.StatusSwitchingProtocols:
		if !f.interim {
			// ReverseProxy has added the interim response's headers
			// after the router's: only the app's go out with it.
			for k, vv := range f.own {
				if rest := h[k][min(len(vv), len(h[k])):]; len(rest) > 0 {
					h[k] = rest
				} else {
					delete(h, k)
				}
			}
			f.interim = true
		}
	case f.interim:
		f.restore(h)
	}
	f.ResponseWriter.WriteHeader(code)
}

func (f *finalWriter) Write(b []byte) (int, error) {
	if f.interim {
		f.restore(f.ResponseWriter.Header()) // a final response without WriteHeader
	}
	return f.ResponseWriter.Write(b)
}

// restore puts the router's headers back before the final response's own.
func (f *finalWriter) restore(h http.Header) {
	for k, vv := range f.own {
		h[k] = append(vv, h[k]...)
	}
	f.interim = false
}

// newProxy returns the proxy to instance i of pool p.
func (r *Router) newProxy(p *Pool, i int) *httputil.ReverseProxy {
	inst := p.Instances[i]
	target := &url.URL{Scheme: "http", Host: inst.Addr}
	// FlushInterval 0 flushes a response when its body is done or the
	// server's buffer fills, except for responses of unknown length
	// (chunked, close-delimited) and text/event-stream ones, which
	// ReverseProxy flushes after every write: streams and long polls do not
	// wait in a buffer. A negative interval would flush every write of every
	// response, an extra write system call for the headers of each small one.
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// Towards the app the router is the edge: it drops the
			// X-Forwarded-* headers clients send (ReverseProxy strips
			// them before Rewrite) and sets them from the connection, so
			// apps can trust X-Forwarded-For to be the peer's address.
			// (Only the router's own cookie flag reads a client's
			// X-Forwarded-Proto: see secure.)
			pr.SetXForwarded()
			for k := range pr.Out.Header {
				if underscored(k) {
					delete(pr.Out.Header, k)
				}
			}
			if len(r.trusted) > 0 && r.trustedPeer(pr.In.RemoteAddr) {
				keepForwarded(pr)
			} else {
				edgeHeaders(pr)
			}
			pr.Out.Host = pr.In.Host // apps see their own hostname
			if pr.Out.Body != nil && pr.Out.Body != http.NoBody {
				// The app may not read the body, and would take it for
				// the next request on the connection: see Transport.
				pr.Out.Close = true
			}
		},
		Transport:     &retryTransport{base: r.transport, log: r.log, pool: p, index: i, router: r},
		FlushInterval: 0, // see above
		BufferPool:    r.buffers,
		ErrorLog:      r.errorLog,
		ErrorHandler:  r.errorHandler(p, inst),
	}
}

// errorHandler returns the ReverseProxy ErrorHandler for instance inst of p:
// it logs the failure and answers with the 502 page, never with the error
// text, which would leak internal addresses.
func (r *Router) errorHandler(p *Pool, inst *Instance) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, req *http.Request, err error) {
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
		writeBadGateway(w, p.App)
	}
}

// retryTransport sends a request to its instance and, if that instance
// cannot be reached or dies before answering, once to another healthy instance of the same pool,
// never of another release, so a pinned session stays on its version. It
// does not mark the instance down: the releaser owns health.
// Retrying at this level is safe: no byte of the response has been written
// to the client yet, and retryable decides whether the app may see the
// request twice.
type retryTransport struct {
	base   http.RoundTripper
	log    *slog.Logger
	pool   *Pool
	index  int
	router *Router // for Config.Observe
}

// RoundTrip implements http.RoundTripper, telling Config.Observe how the
// request went.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := t.router.started()
	res, err := t.roundTrip(req)
	t.router.observed(req.Context(), t.pool, start, res, err)
	return res, err
}

func (t *retryTransport) roundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err == nil {
		return res, nil
	}
	return retryElsewhere(t.log, t.pool, t.index, err, retryable(req, err), func(other *Instance) (*http.Response, error) {
		u := *req.URL
		u.Host = other.Addr
		retry := req.WithContext(req.Context()) // a shallow copy: RoundTrip must not modify req
		retry.URL = &u
		return t.base.RoundTrip(retry)
	})
}

// retryElsewhere follows a request's failed try (err) on instance i of p:
// if may, with one more try, by send, on another healthy instance of the
// same pool (retryTransport and the router's own path, forward). The
// error it returns names the instance that failed last.
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

// instanceError tells the error handler which instance failed.
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

// retryable reports whether a request that failed with err may go to
// another instance. A dial error means no byte reached the app, so any
// request without a body may be sent again. Any other failure before the
// response headers (a connection reset because the instance died) may
// have reached the app, so only idempotent methods are retried, as nginx's
// proxy_next_upstream does; a request the client itself abandoned is not.
func retryable(req *http.Request, err error) bool {
	return replayable(req) && retryableErr(req, err)
}

// retryableErr is retryable for a request that can be sent again.
func retryableErr(req *http.Request, err error) bool {
	if req.Context().Err() != nil {
		return false
	}
	if isDialError(err) {
		return true
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// replayable reports whether an outbound request can be sent again: only
// when it has no body, since the transport consumes and closes the body.
// ReverseProxy sets Body to nil for a request with ContentLength 0, which
// covers the usual GET, HEAD and OPTIONS.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody
}

// bufferPool recycles the 32 KiB buffers ReverseProxy copies response bodies
// with, which it would otherwise allocate for every request. It stores array
// pointers so that Put does not allocate a slice header.
type bufferPool struct{ p sync.Pool }

const bufferSize = 32 << 10

// Get implements httputil.BufferPool.
func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[bufferSize]byte); ok {
		return buf[:]
	}
	return new([bufferSize]byte)[:]
}

// Put implements httputil.BufferPool.
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

// clientIPHeaders are the other headers apps read a client's address
// from; from anyone but a trusted proxy they are the client's lie.
var clientIPHeaders = []string{"X-Client-Ip", "True-Client-Ip", "Forwarded", "X-Cluster-Client-Ip"}

// edgeHeaders drops the client's address headers and sets X-Real-IP to
// the peer's address, as the edge.
func edgeHeaders(pr *httputil.ProxyRequest) {
	h := pr.Out.Header
	for _, k := range clientIPHeaders {
		delete(h, k)
	}
	if host, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		h["X-Real-Ip"] = []string{host}
	} else {
		delete(h, "X-Real-Ip")
	}
}

// keepForwarded keeps what a trusted proxy said: its X-Forwarded-For with
// its own address appended (SetXForwarded set that alone), and its
// X-Forwarded-Proto and -Host.
func keepForwarded(pr *httputil.ProxyRequest) {
	in, out := pr.In.Header, pr.Out.Header
	if prior := in["X-Forwarded-For"]; len(prior) > 0 {
		out.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+out.Get("X-Forwarded-For"))
	}
	for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-Host"} {
		if v := in.Get(h); v != "" {
			out.Set(h, v)
		}
	}
}
