package web

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/slipway/slipway"
)

// DefaultAddr is where the admin page listens unless told otherwise: on
// loopback, since it carries app state.
const DefaultAddr = "127.0.0.1:8090"

// Config configures the admin handler.
type Config struct {
	// Backend reads the apps and their history and performs rollbacks.
	Backend Backend
	// Token is the admin token. If empty, nobody can sign in and every
	// authenticated route answers 401.
	Token string
	// Domain is the apps' domain, for an app URL the Backend leaves empty.
	Domain string
	// Logger receives one line per rollback, login and internal error. If
	// nil, slog.Default is used.
	Logger *slog.Logger
	// Metrics, if not nil, is served without authentication at /metrics.
	Metrics http.Handler
	// Commands, if not nil, runs a management command (the ssh command
	// table) for POST /api/commands/{name} and for the app page's forms,
	// writing its output to out. If nil, the app page only shows.
	Commands func(ctx context.Context, name string, args []string, in io.Reader, out io.Writer) error
	// Upgrade, if not nil, hands slipway over to a new process of the
	// executable at its path for POST /api/upgrade (`slipway upgrade`),
	// and returns the new process's pid once it serves.
	Upgrade func(ctx context.Context) (pid int, err error)
	// Sessions, if not nil, keeps signed-out sessions across restarts and
	// upgrades; if nil, a restart forgets them (tests).
	Sessions slipway.SessionStore
	// Stats, if not nil, gives the app page its charts of the last hour
	// and the apps list a sparkline per app; if nil, there are none.
	Stats StatsSource
}

// Handler serves the admin pages and API. Make one with New.
type Handler struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	now     func() time.Time // time.Now; tests move it
	fails   throttle         // failed sign-ins by client address

	tokenSum   [sha256.Size]byte
	sessionKey []byte
	csrfKey    []byte
	flashKey   []byte

	mu      sync.Mutex
	revoked map[string]time.Time // logged-out session nonces → expiry
	// sessionsUnknown is set when the signed-out sessions could not be
	// read at start: sessions issued before it are not let in.
	sessionsUnknown bool
	started         time.Time
}

// New returns the admin handler for cfg.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, log: cfg.Logger, now: time.Now, revoked: map[string]time.Time{}}
	if h.log == nil {
		h.log = slog.Default()
	}
	if cfg.Token == "" {
		h.log.Warn("admin token is empty: nobody can sign in to the admin page")
	}
	h.started = h.now()
	if cfg.Sessions != nil {
		revoked, err := cfg.Sessions.RevokedSessions(context.Background(), h.now())
		if err != nil {
			// Signed-out sessions would come back: none is let in.
			h.log.Error("admin: cannot read the signed-out sessions: every session must sign in again", "err", err)
			h.sessionsUnknown = true
		}
		maps.Copy(h.revoked, revoked)
	}
	h.tokenSum = sha256.Sum256([]byte(cfg.Token))
	h.sessionKey = deriveKey(cfg.Token, "session")
	h.csrfKey = deriveKey(cfg.Token, "csrf")
	h.flashKey = deriveKey(cfg.Token, "flash")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /login", h.loginForm)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("POST /logout", h.page(h.logout))

	mux.HandleFunc("GET /{$}", h.page(h.appsPage))
	mux.HandleFunc("GET /apps/{app}", h.page(h.appPage))
	mux.HandleFunc("POST /apps/{app}/rollback", h.page(h.rollbackForm))
	mux.HandleFunc("GET /apps/{app}/releases/{version}", h.page(h.releasePage))
	h.routeActions(mux) // the app page's other forms (actions.go)

	mux.HandleFunc("GET /api/apps", h.api(h.apiApps))
	mux.HandleFunc("GET /api/apps/{app}", h.api(h.apiApp))
	mux.HandleFunc("GET /api/apps/{app}/releases", h.api(h.apiReleases))
	mux.HandleFunc("GET /api/apps/{app}/releases/{version}", h.api(h.apiRelease))
	mux.HandleFunc("GET /api/apps/{app}/releases/{version}/log", h.api(h.apiLog))
	mux.HandleFunc("GET /api/services", h.api(h.apiServices))
	mux.HandleFunc("POST /api/apps/{app}/rollback", h.api(h.apiRollback))
	mux.HandleFunc("POST /api/commands/{name}", h.api(h.apiCommand))
	mux.HandleFunc("POST /api/upgrade", h.api(h.apiUpgrade))

	// Refuses cross-origin browser POSTs (Sec-Fetch-Site, Origin) before
	// any handler runs: a second line behind the CSRF token, and the only
	// one for the login form. It also covers apps on sibling subdomains,
	// which SameSite cookies treat as the same site.
	h.handler = http.NewCrossOriginProtection().Handler(mux)
	return h
}

// contentSecurityPolicy allows only this origin's scripts, styles and
// images, no inline script or style, no framing and no foreign forms.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	h.handler.ServeHTTP(w, r)
}
