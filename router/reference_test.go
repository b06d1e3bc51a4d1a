package router

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// The one proxy path sends and answers what httputil.ReverseProxy, with
// the rules the router had when it proxied through it, does for the same
// request and response: TestForward_SameAsReverseProxy compares the two.
// referenceProxy is that reference: the router's routing and affinity
// cookie, then ReverseProxy to the instance chosen.

// referenceProxy returns a handler that routes as r does and proxies with
// ReverseProxy over tr.
func referenceProxy(r *Router, tr http.RoundTripper) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name, _ := r.appName(req.Host)
		sec := r.clock.now() / int64(time.Second)
		var raw [maxRaw]byte
		var pin *ticket
		if t, ok := r.readCookie(&raw, req, name, sec); ok {
			pin = &t
		}
		rt, found := r.route(name, pin, sec)
		if !found || rt.pool == nil {
			writeNotFound(w, name, req.Host)
			return
		}
		defer rt.pool.inflight.Add(-1)
		if rt.issue {
			r.setCookie(w, req, name, rt.pool, rt.inst, sec)
			w = keepForFinal(w)
		}
		inst := rt.pool.Instances[rt.inst]
		target := &url.URL{Scheme: "http", Host: inst.Addr}
		rp := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.SetXForwarded()
				for k := range pr.Out.Header {
					if underscored(k) || clientAddressHeader(k) || k == "Forwarded" {
						delete(pr.Out.Header, k)
					}
				}
				if host, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
					pr.Out.Header["X-Real-Ip"] = []string{host}
				}
				pr.Out.Host = pr.In.Host
				if pr.Out.Body != nil && pr.Out.Body != http.NoBody {
					pr.Out.Close = true
				}
			},
			Transport:    tr,
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { writeBadGateway(w, name) },
		}
		rp.ServeHTTP(w, req)
	})
}

// finalWriter is the ResponseWriter ReverseProxy gets when the router has
// set headers of its own for the response (the affinity cookie). An app's
// 103 Early Hints goes to the client without them, and they are put back
// for the final response: ReverseProxy sends whatever the writer's headers
// hold with an interim response and then clears them.
type finalWriter struct {
	http.ResponseWriter
	own     http.Header // the router's headers, as they were before the app answered
	interim bool        // an interim response went out without them
}

// keepForFinal wraps w, whose headers now are the router's own.
func keepForFinal(w http.ResponseWriter) *finalWriter {
	return &finalWriter{ResponseWriter: w, own: w.Header().Clone()}
}

func (f *finalWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

func (f *finalWriter) WriteHeader(code int) {
	h := f.ResponseWriter.Header()
	switch {
	case code >= 100 && code < 200 && code != http.StatusSwitchingProtocols:
		if !f.interim {
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
		f.restore(f.ResponseWriter.Header())
	}
	return f.ResponseWriter.Write(b)
}

func (f *finalWriter) restore(h http.Header) {
	for k, vv := range f.own {
		h[k] = append(vv, h[k]...)
	}
	f.interim = false
}
