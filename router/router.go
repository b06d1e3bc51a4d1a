// Package router is slipway's HTTP front door: it sends each request whose
// Host is NAME.<domain> to the live release of app NAME, either by proxying
// to one of the release's running instances or, for a static release, by
// serving its files itself.
//
// The releaser makes a new release live with SetLive, then waits with
// WaitIdle for the requests still running on the old pool before it stops
// the old processes.
package router

import (
	"log"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Config configures a Router. The zero value of every field has a documented
// default.
type Config struct {
	// Domain is the parent domain of the apps: app NAME is served for Host
	// NAME.Domain, compared case-insensitively and ignoring a port and a
	// trailing dot. If empty, the whole host is taken as the app name.
	Domain string
	// Transport carries requests to instances. If nil, NewTransport() is used.
	Transport http.RoundTripper
	// Logger receives one line per routing event. If nil, slog.Default() is used.
	Logger *slog.Logger
}

// Router is an http.Handler that routes requests to the live pool of the app
// named by their Host. Its methods are safe for concurrent use. Create one
// with New.
type Router struct {
	suffix    string // "." + lower-case domain, or "" for no domain
	transport http.RoundTripper
	log       *slog.Logger
	errorLog  *log.Logger // for ReverseProxy's own messages
	buffers   *bufferPool

	// apps is the routing table: an immutable map replaced copy-on-write by
	// writers holding mu, so a request costs one atomic load and one map
	// lookup and never waits for a writer.
	apps atomic.Pointer[map[string]*app]
	mu   sync.Mutex
}

// New returns a Router with no apps.
func New(cfg Config) *Router {
	r := &Router{
		transport: cfg.Transport,
		log:       cfg.Logger,
		buffers:   &bufferPool{},
	}
	if d := strings.Trim(strings.ToLower(cfg.Domain), "."); d != "" {
		r.suffix = "." + d
	}
	if r.transport == nil {
		r.transport = NewTransport()
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.errorLog = slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)
	r.apps.Store(&map[string]*app{})
	return r
}

// ServeHTTP routes req to the live pool of the app named by its Host. It
// answers unknown apps with a 404 page and apps without a running instance
// with a 503 page.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	name, ok := r.appName(req.Host)
	if !ok {
		writeNotFound(w, "", req.Host)
		return
	}
	for {
		a := (*r.apps.Load())[name]
		if a == nil {
			writeNotFound(w, name, req.Host)
			return
		}
		p := a.live.Load()
		if p == nil {
			writeUnavailable(w, name)
			return
		}
		if !a.acquire(p) {
			continue // p was replaced while we looked; route again
		}
		r.serve(w, req, p)
		return
	}
}

// serve handles req on pool p, which the caller has acquired; it releases p
// when done, even if the handler panics (ReverseProxy aborts a broken
// response with panic(http.ErrAbortHandler)).
func (r *Router) serve(w http.ResponseWriter, req *http.Request, p *Pool) {
	defer p.inflight.Add(-1)
	if p.static != nil {
		p.static.ServeHTTP(w, req)
		return
	}
	i := p.pick(-1)
	if i < 0 {
		writeUnavailable(w, p.App)
		return
	}
	inst := p.Instances[i]
	inst.outstanding.Add(1)
	defer inst.outstanding.Add(-1)
	p.proxies[i].ServeHTTP(w, req)
}
