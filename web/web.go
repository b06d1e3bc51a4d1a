// Package web is slipway's admin address: an HTML page listing apps and
// their live release, and the same data as JSON under /api.
package web

import (
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/slipway/slipway/releaser"
)

// DefaultAddr is where the admin page listens unless told otherwise: on
// loopback, since it carries app state.
const DefaultAddr = "127.0.0.1:8090"

// AppLister lists the apps slipway runs.
type AppLister interface {
	Apps() []releaser.AppStatus
}

var _ AppLister = (*releaser.Releaser)(nil)

// Config configures the admin handler.
type Config struct {
	Apps   AppLister
	Domain string       // for the apps' URLs
	Logger *slog.Logger // slog.Default when nil
}

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"ago":   ago,
	"short": short,
}).ParseFS(templateFS, "templates/*.html"))

// Handler serves the admin page and API.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the admin handler for cfg.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.index)
	h.mux.HandleFunc("GET /api/apps", h.apiApps)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Apps   []releaser.AppStatus
		Domain string
	}{h.cfg.Apps.Apps(), h.cfg.Domain}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
	if err := templates.ExecuteTemplate(w, "index.html", data); err != nil {
		h.cfg.Logger.Error("render admin page", "err", err)
	}
}

func (h *Handler) apiApps(w http.ResponseWriter, r *http.Request) {
	apps := h.cfg.Apps.Apps()
	if apps == nil {
		apps = []releaser.AppStatus{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(apps)
}

// ago renders a time as a short age: "12s", "5m", "3h", "2d".
func ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return d.Truncate(time.Second).String()
	case d < time.Hour:
		return d.Truncate(time.Minute).String()
	case d < 48*time.Hour:
		return d.Truncate(time.Hour).String()
	}
	return time.Duration(d/(24*time.Hour)).String() + "d"
}

// short returns the first 7 characters of a commit id.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
