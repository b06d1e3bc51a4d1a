package router

import (
	"io"
	"net/http"
	"time"
)

// The request side of the access lines (see AccessLog): which requests
// get one, and what each says. A request of an app whose lines are on
// fills a proxyAccess as it goes through the one proxy path and queues
// its line when the response has gone (logProxied); a response the
// router makes itself for an app (its pages, a static release's files)
// queues its line where it is written.

// proxyAccess is what a proxied request's access line says, filled in as
// the request goes; on says whether it gets one.
type proxyAccess struct {
	on      bool
	pinned  bool // a valid affinity cookie chose the pool
	fault   fault
	status  int
	sent    int64         // response body bytes the client took
	service time.Duration // until the instance's response headers (or its failure)
	inst    *Instance     // the instance that answered, or failed last
}

// SetAccessLog turns app's access lines on (the default) or off: the
// router hands no line of an app that is off to its AccessLog, and pays
// for the check one atomic load and a map lookup while some app is off.
// The switch is the router's, a copy-on-write set as SetStopped's, rather
// than the writer's: a request of an app that is off then reads no clock
// and sends nothing to the queue, where it would take the place of other
// apps' lines.
func (r *Router) SetAccessLog(app string, on bool) { r.setFlag(&r.accessOff, app, !on) }

// logsAccess reports whether the requests of app get access lines.
func (r *Router) logsAccess(app string) bool {
	if r.access == nil {
		return false
	}
	off := *r.accessOff.Load()
	return len(off) == 0 || !off[app]
}

// known reports whether the router still routes or answers for app: it
// has pools, or is in maintenance, stopped or not deployed yet. An app
// destroyed is none of these.
func (r *Router) known(app string) bool {
	if _, ok := (*r.apps.Load())[app]; ok {
		return true
	}
	if _, ok := (*r.maint.Load())[app]; ok {
		return true
	}
	return (*r.stopped.Load())[app] || (*r.undeployed.Load())[app]
}

// logProxied queues the access line of f, a request proxied to an
// instance of p, once its response has gone (or was cut short: it runs
// deferred).
func (r *Router) logProxied(f *forwarded, p *Pool) {
	e := accessEntry{app: p.App, release: p.Release, status: f.acc.status, bytes: f.acc.sent,
		service: f.acc.service, pinned: f.acc.pinned, fault: f.acc.fault}
	if f.acc.inst != nil {
		e.instance = f.acc.inst.ID
	}
	if f.x != nil {
		e.method, e.path, e.host = http.MethodGet, f.x.Target(), f.x.Host()
	} else {
		e.method, e.path, e.host = f.req.Method, f.target, f.req.Host
	}
	r.access.add(&e)
}

// logAnswer queues the access line of req, a request of app that the
// router answered itself with status and an n-byte page (why says why),
// after routing it to pool p (nil if none) with pinned saying whether a
// cookie chose p.
func (r *Router) logAnswer(req *http.Request, app string, p *Pool, pinned bool, status, n int, why fault) {
	if !r.logsAccess(app) {
		return
	}
	e := accessEntry{app: app, method: req.Method, path: req.RequestURI, host: req.Host,
		status: status, bytes: int64(n), pinned: pinned, fault: why}
	if e.path == "" { // a request not read by a server (a test's)
		e.path = req.URL.RequestURI()
	}
	if req.Method == http.MethodHead {
		e.bytes = 0
	}
	if p != nil {
		e.release = p.Release
	}
	r.access.add(&e)
}

// serveStatic serves req from the files of rt.pool, a static release of
// app, and queues its access line: the status and bytes the file server
// wrote and how long it took to its first byte; a static release has no
// instance.
func (r *Router) serveStatic(w http.ResponseWriter, req *http.Request, app string, rt route) {
	p := rt.pool
	if !r.logsAccess(app) {
		p.static.ServeHTTP(w, req)
		return
	}
	sw := &statusWriter{ResponseWriter: w, start: time.Now()}
	p.static.ServeHTTP(sw, req)
	if sw.status == 0 {
		sw.status, sw.service = http.StatusOK, time.Since(sw.start)
	}
	e := accessEntry{app: app, method: req.Method, path: req.RequestURI, host: req.Host, release: p.Release,
		status: sw.status, bytes: sw.sent, service: sw.service, pinned: rt.pinned != 0}
	r.access.add(&e)
}

// statusWriter is a ResponseWriter that keeps the status, the body bytes
// and when the head went, for a static release's access line. It passes
// ReadFrom on (a file sent with sendfile) and unwraps for
// http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	start   time.Time
	status  int
	service time.Duration
	sent    int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status, w.service = code, time.Since(w.start)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status, w.service = http.StatusOK, time.Since(w.start)
	}
	n, err := w.ResponseWriter.Write(p)
	w.sent += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status, w.service = http.StatusOK, time.Since(w.start)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.sent += n
	return n, err
}

// Unwrap returns the client's ResponseWriter.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
