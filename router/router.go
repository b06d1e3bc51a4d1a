package router

import (
	"context"
	"crypto/rand"
	"log"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Router. The zero value of every field has a documented
// default.
type Config struct {
	// Domain is the parent domain of the apps: app NAME is served for Host
	// NAME.Domain, compared case-insensitively and ignoring a port and a
	// trailing dot. If empty, the whole host is taken as the app name.
	Domain string
	// Logger receives one line per routing event. If nil, slog.Default() is used.
	Logger *slog.Logger
	// AffinityKey signs the affinity cookies (see Codec). It should be 32
	// random bytes kept across restarts, so that sessions survive them. If
	// empty, New generates a random key and logs that sessions will not
	// survive a restart.
	AffinityKey []byte
	// SessionTTL is how long a session stays pinned to its release and
	// instance without a request. Cookies are re-issued when they are older
	// than a quarter of it, so an idle session is forgotten after between
	// 3/4 and all of SessionTTL. If zero, DefaultSessionTTL is used.
	SessionTTL time.Duration
	// Observe, if not nil, is told of every proxied request once its
	// response headers arrive: the app, the status code (502 when no
	// instance answered) and how long the instance took (0 for a 502). It
	// runs on the request path, so it must be cheap (metrics counters).
	Observe func(app string, code int, d time.Duration)
	// AccessLog, if not nil, gets one line per request to an app, in
	// Heroku's shape (see AccessLog), but for the apps SetAccessLog
	// turned off; lines go to a bounded queue, never holding a request
	// up. If nil, the router writes no access lines, and the request
	// path pays one nil check for them.
	AccessLog *AccessLog
	// TrustedProxies are the peers (a load balancer in front of slipway)
	// whose X-Forwarded-For, -Proto and -Host are kept, the peer's address
	// appended to the first; from any other peer the router, as the edge,
	// sets them from the connection and drops what the client sent.
	TrustedProxies []netip.Prefix
}

// Router is an http.Handler that routes requests to the pools of the app
// named by their Host. Its methods are safe for concurrent use. Create one
// with New and stop it with Close.
type Router struct {
	suffix    string // "." + lower-case domain, or "" for no domain
	trusted   []netip.Prefix
	transport *Transport
	log       *slog.Logger
	errorLog  *log.Logger // for body copy errors
	buffers   *bufferPool
	observe   func(app string, code int, d time.Duration)
	access    *AccessLog // nil: no access lines
	codec     *Codec
	refresh   int64 // seconds after which a cookie is re-issued
	clock     *clock

	// apps is the routing table: an immutable map replaced copy-on-write by
	// writers holding mu, so a request costs one atomic load and one map
	// lookup and never waits for a writer.
	apps atomic.Pointer[map[string]*app]
	// hosts is the apps' own domains, replaced the same way (SetDomains).
	hosts atomic.Pointer[hostTable]
	// maint is the apps in maintenance, with their pages (SetMaintenance).
	maint atomic.Pointer[map[string][]byte]
	// stopped is the apps stopped with ps:stop (SetStopped).
	stopped atomic.Pointer[map[string]bool]
	// undeployed is the apps that exist with no release yet (SetUndeployed).
	undeployed atomic.Pointer[map[string]bool]
	// accessOff is the apps whose access lines are off (SetAccessLog).
	accessOff atomic.Pointer[map[string]bool]
	mu        sync.Mutex
}

// New returns a Router with no apps. It starts the goroutine of the
// router's clock, which Close stops.
func New(cfg Config) *Router {
	r := &Router{
		transport: NewTransport(),
		log:       cfg.Logger,
		buffers:   &bufferPool{},
		observe:   cfg.Observe,
		access:    cfg.AccessLog,
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if d := strings.Trim(strings.ToLower(cfg.Domain), "."); d != "" {
		r.suffix = "." + d
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.errorLog = slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)
	key := cfg.AffinityKey
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
		r.log.Warn("router: no affinity key configured, using a random one: sessions will not survive a restart")
	}
	r.trusted = cfg.TrustedProxies
	r.codec = NewCodec(key, cfg.SessionTTL)
	r.refresh = r.codec.ttl / 4
	r.apps.Store(&map[string]*app{})
	r.hosts.Store(emptyHosts)
	r.maint.Store(&map[string][]byte{})
	r.stopped.Store(&map[string]bool{})
	r.undeployed.Store(&map[string]bool{})
	r.accessOff.Store(&map[string]bool{})
	if r.access != nil {
		known := r.known
		r.access.known.Store(&known)
	}
	r.clock = newClock(clockResolution)
	return r
}

// Close stops the router's clock goroutine and closes its idle
// connections to instances. The router keeps routing requests after
// Close, reading the time for each one and opening connections as needed.
func (r *Router) Close() {
	r.clock.close()
	r.transport.CloseIdleConnections()
}

// UpstreamErrors returns what the instances did wrong on the router's
// connections to them (see Transport.Errors).
func (r *Router) UpstreamErrors() UpstreamErrors { return r.transport.Errors() }

// ServeHTTP routes req to a pool of the app named by its Host: the pool its
// affinity cookie pins it to, or the live pool. It answers unknown apps with
// a 404 page and apps without a running instance with a 503 page.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodTrace || req.Method == http.MethodConnect {
		// As nginx: TRACE would echo a client's cookies to a script
		// (cross-site tracing), and apps are not tunnels.
		writeMethodNotAllowed(w)
		return
	}
	name, ok := r.appName(req.Host)
	if !ok {
		writeNotFound(w, "", req.Host)
		return
	}
	if m := *r.maint.Load(); len(m) > 0 {
		if page, in := m[name]; in {
			n := writeMaintenance(w, name, page)
			r.logAnswer(req, name, nil, false, http.StatusServiceUnavailable, n, faultMaintenance)
			return
		}
	}
	now := r.clock.now()
	sec := now / int64(time.Second)
	var raw [maxRaw]byte // holds the cookie's fields, so reading it does not allocate
	var pin *ticket
	if t, ok := r.readCookie(&raw, req, name, sec); ok {
		pin = &t
	}
	rt, found := r.route(name, pin, sec)
	if found && rt.wake {
		rt = r.wakeRoute(req.Context(), name, rt, pin, sec)
	}
	switch {
	case !found && (*r.stopped.Load())[name]:
		n := writeStopped(w, name)
		r.logAnswer(req, name, nil, false, http.StatusServiceUnavailable, n, faultStopped)
	case !found && (*r.undeployed.Load())[name]:
		n := writeUndeployed(w, name)
		r.logAnswer(req, name, nil, false, http.StatusNotFound, n, faultUndeployed)
	case !found:
		writeNotFound(w, name, req.Host) // no such app: no log to write to
	case rt.pool == nil:
		n := writeUnavailable(w, name)
		r.logAnswer(req, name, nil, false, http.StatusServiceUnavailable, n, faultUnavailable)
	default:
		r.serve(w, req, name, rt, now)
	}
}

// route chooses the pool and instance for a request to app name, pinned
// by pin if not nil, as of sec (unix seconds), and acquires the pool for
// it; the caller releases it (serve does). found is false when the router
// has no such app; rt.pool is nil when the app has no pool to serve it.
func (r *Router) route(name string, pin *ticket, sec int64) (rt route, found bool) {
	for {
		a := (*r.apps.Load())[name]
		if a == nil {
			return route{}, false
		}
		s := a.state.Load()
		rt := s.choose(pin, sec, r.refresh)
		if rt.pool == nil || a.acquire(s, rt.pool) {
			return rt, true
		}
		// The app's pools changed while we looked; route again.
	}
}

// wakeRoute wakes rt.pool, a sleeping pool the request's pin binds to
// (or the live pool of an app that sleeps), and routes the request again:
// to the awake pool, or, when it did not wake, as if the pool had gone
// (to the live pool, with a new cookie, waking it too if the app sleeps);
// a route with no pool (503) when the live pool itself did not wake. A
// request wakes at most two pools, and none once its client has gone.
func (r *Router) wakeRoute(ctx context.Context, name string, rt route, pin *ticket, sec int64) route {
	return r.wakeRouteN(ctx, name, rt, pin, sec, 2)
}

func (r *Router) wakeRouteN(ctx context.Context, name string, rt route, pin *ticket, sec int64, wakes int) route {
	p := rt.pool
	p.inflight.Add(-1) // a sleeping pool serves nothing; its wake-up is not a request on it
	woke := r.awaken(ctx, p) == nil
	wakes--
	again, found := r.route(name, pin, sec)
	if !woke || !found || again.wake {
		if again.pool != nil {
			again.pool.inflight.Add(-1)
		}
		again, found = r.route(name, nil, sec) // as a client without a pin
	}
	switch {
	case !found || !again.wake:
		return again
	case wakes > 0 && again.pool != p && ctx.Err() == nil:
		return r.wakeRouteN(ctx, name, again, nil, sec, wakes) // the live pool, asleep too
	}
	again.pool.inflight.Add(-1)
	return route{} // the live pool did not wake: 503
}

// visit records a request from remote (host:port) on rt.pool as of now:
// the pool's last request, and the session's on a draining pool. It
// returns now in seconds.
func (rt route) visit(now int64, remote string) int64 {
	p := rt.pool
	p.seen(now)
	sec := now / int64(time.Second)
	if rt.pinned != 0 && p.drainingSince.Load() != 0 {
		var reissued int64
		if rt.issue {
			reissued = sec
		}
		p.sessions.see(rt.pinned, reissued, remote)
	}
	return sec
}

// serve handles req on rt.pool, which the caller has acquired, and
// releases the pool when done, even if the handler panics (a response cut
// short is aborted with panic(http.ErrAbortHandler)).
func (r *Router) serve(w http.ResponseWriter, req *http.Request, app string, rt route, now int64) {
	p := rt.pool
	defer p.inflight.Add(-1)
	sec := rt.visit(now, req.RemoteAddr)
	if rt.issue {
		r.setCookie(w, req, app, p, rt.inst, sec)
	}
	if p.static != nil {
		r.serveStatic(w, req, app, rt)
		return
	}
	target := req.URL.RequestURI()
	if target == "" || target[0] != '/' {
		n := writeBadTarget(w)
		r.logAnswer(req, app, p, rt.pinned != 0, http.StatusBadRequest, n, faultBadRequest)
		return
	}
	f := &forwarded{req: req, w: w, target: target}
	if isUpgrade(req.Header) {
		f.upgrade = req.Header.Get("Upgrade") // "" for a Connection: upgrade alone, which asks for nothing
	}
	f.trusted = len(r.trusted) > 0 && r.trustedPeer(req.RemoteAddr)
	var err error
	if f.body, f.long, err = bufferBody(req, r.transport.maxBody); err != nil {
		n := writeBadBody(w)
		r.logAnswer(req, app, p, rt.pinned != 0, http.StatusBadRequest, n, faultBadRequest)
		return
	}
	if f.long != nil {
		f.long.expect = headerHasToken(req.Header["Expect"], "100-continue")
		// Closed when the handler returns, as ReverseProxy does: its pump
		// may outlive the handler, and reads fail once it is closed.
		defer req.Body.Close()
	}
	f.acc.pinned = rt.pinned != 0
	inst := p.Instances[rt.inst]
	inst.outstanding.Add(1)
	defer inst.outstanding.Add(-1)
	r.proxy(f, p, rt.inst)
}
