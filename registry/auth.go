package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/distribution/distribution/v3/registry/auth"
)

// Access is what a credential grants. Push implies Pull.
type Access int

const (
	// NoAccess refuses the request with a challenge.
	NoAccess Access = iota
	// Pull reads: the catalog, tags, manifests and blobs.
	Pull
	// Push also writes and deletes.
	Push
)

func (a Access) String() string {
	switch a {
	case Pull:
		return "pull"
	case Push:
		return "push"
	}
	return "none"
}

const (
	realm    = "slipway"
	authName = "slipway"
)

// grantKey carries the Access of a request, once authenticated, from
// serve to the access controller that distribution calls. Only this
// package can set it: a request from the network never carries it.
type grantKey struct{}

type grant struct {
	user   string
	access Access
	// may, when set, limits the grant to the repositories it allows
	// (Config.Repos); nil allows every one.
	may func(repo string) bool
}

func init() {
	// Distribution finds its access controller by name; ours reads the
	// grant that serve put in the request's context.
	if err := auth.Register(authName, func(map[string]any) (auth.AccessController, error) {
		return accessController{}, nil
	}); err != nil {
		panic(err)
	}
}

// serve authenticates the request, holds the GC lock for a write, bounds
// uploads and passes the request on to distribution.
func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	g, ok := req.Context().Value(grantKey{}).(grant)
	if !ok {
		user, password, hasAuth := req.BasicAuth()
		if hasAuth {
			g = grant{user: user, access: r.cfg.Check(user, password)}
			if g.access != NoAccess && r.cfg.Repos != nil {
				g.may = r.cfg.Repos(user)
			}
		}
		if g.access == NoAccess {
			if hasAuth {
				r.log.Warn("registry: credentials refused", "user", user, "remote", req.RemoteAddr)
			}
			challenge(w)
			return
		}
		req = req.WithContext(context.WithValue(req.Context(), grantKey{}, g))
	}
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	if write && g.access < Push {
		writeError(w, http.StatusForbidden, "DENIED", "this credential may pull but not push: push with the admin token")
		return
	}
	if write {
		r.gc.RLock()
		defer r.gc.RUnlock()
	}
	sw := &statusWriter{ResponseWriter: w}
	if !r.limit(sw, req) {
		r.app.ServeHTTP(sw, req)
	}
	if sw.status >= 500 {
		r.log.Warn("registry: request failed", "method", req.Method, "path", req.URL.Path, "status", sw.status)
	}
}

// challenge answers 401 with the Basic challenge that docker login and
// other clients answer with credentials.
func challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", realm))
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required: log in with the admin token or a pull token")
}

// writeError answers in the distribution API's error format.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	type apiError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.NewEncoder(w).Encode(struct {
		Errors []apiError `json:"errors"`
	}{[]apiError{{code, message}}})
}

// accessController is distribution's side of the check: it holds each
// action distribution asks about against the request's grant, a second
// line behind serve.
type accessController struct{}

func (accessController) Authorized(req *http.Request, records ...auth.Access) (*auth.Grant, error) {
	g, _ := req.Context().Value(grantKey{}).(grant)
	if g.access == NoAccess {
		return nil, basicChallenge{}
	}
	for _, rec := range records {
		if g.may != nil && (rec.Type != "repository" || !g.may(rec.Name)) {
			return nil, basicChallenge{} // the catalog, or a repository out of its reach
		}
		need := Push
		if rec.Action == "pull" || rec.Type == "registry" && rec.Name == "catalog" {
			need = Pull
		}
		if g.access < need {
			return nil, basicChallenge{}
		}
	}
	return &auth.Grant{User: auth.UserInfo{Name: g.user}}, nil
}

type basicChallenge struct{}

func (basicChallenge) Error() string { return "registry: access denied" }

func (basicChallenge) SetHeaders(_ *http.Request, w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", realm))
}

// statusWriter notes the response's status for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
