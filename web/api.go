package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/slipway/slipway"
)

// ReleaseJSON is a release as the JSON API shows it (slipway.ReleaseJSON).
type ReleaseJSON = slipway.ReleaseJSON

// NewReleaseJSON converts a release for the JSON API (slipway.NewReleaseJSON).
func NewReleaseJSON(r *slipway.Release) ReleaseJSON { return slipway.NewReleaseJSON(r) }

// apps returns the Backend's apps with every URL filled in.
func (h *Handler) apps(r *http.Request) ([]AppSummary, error) {
	apps, err := h.cfg.Backend.Apps(r.Context())
	if err != nil {
		return nil, err
	}
	for i := range apps {
		if apps[i].URL == "" && h.cfg.Domain != "" {
			apps[i].URL = "http://" + apps[i].Name + "." + h.cfg.Domain + "/"
		}
	}
	return apps, nil
}

// releases returns the history of app, checking its name first.
func (h *Handler) releases(r *http.Request, app string) ([]*slipway.Release, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	return h.cfg.Backend.Releases(r.Context(), app)
}

// releaseParams reads {app} and {version} from the path.
func releaseParams(r *http.Request) (string, slipway.Version, error) {
	app := r.PathValue("app")
	if err := slipway.ValidateAppName(app); err != nil {
		return "", 0, err
	}
	v, err := slipway.ParseVersion(r.PathValue("version"))
	return app, v, err
}

// rollback runs a rollback for the page or the API and logs it.
func (h *Handler) rollback(r *http.Request, app string, to slipway.Version, via string) (*slipway.Release, error) {
	// A closed tab or a client timeout must not stop a switch halfway.
	ctx := context.WithoutCancel(r.Context())
	var out bytes.Buffer
	start := time.Now()
	by := "admin"
	if via == "web" {
		by = PageCaller // the history's button, as the page's other actions
	}
	rel, err := h.cfg.Backend.Rollback(slipway.WithCallerName(ctx, by), app, to, &out)
	switch {
	case err == nil:
		h.log.Info("rollback", "app", app, "release", rel.Version, "of", rel.RollbackOf, "via", via,
			"took", time.Since(start).Round(time.Millisecond))
	case slipway.ErrorCode(err) != slipway.EINTERNAL:
		h.log.Info("rollback refused", "app", app, "to", to, "via", via, "reason", slipway.ErrorMessage(err))
	default:
		h.log.Debug("rollback output", "app", app, "output", out.String())
	}
	return rel, err
}

// apiApps serves GET /api/apps.
func (h *Handler) apiApps(w http.ResponseWriter, r *http.Request, _ auth) {
	apps, err := h.apps(r)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	if apps == nil {
		apps = []AppSummary{}
	}
	writeJSON(w, http.StatusOK, apps)
}

// apiReleases serves GET /api/apps/NAME/releases, newest first.
func (h *Handler) apiReleases(w http.ResponseWriter, r *http.Request, _ auth) {
	rels, err := h.releases(r, r.PathValue("app"))
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	out := make([]ReleaseJSON, len(rels))
	for i, rel := range rels {
		out[i] = NewReleaseJSON(rel)
	}
	writeJSON(w, http.StatusOK, out)
}

// apiRelease serves GET /api/apps/NAME/releases/vN.
func (h *Handler) apiRelease(w http.ResponseWriter, r *http.Request, _ auth) {
	app, v, err := releaseParams(r)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	rel, err := h.cfg.Backend.Release(r.Context(), app, v)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewReleaseJSON(rel))
}

// apiLog serves GET /api/apps/NAME/releases/vN/log as plain text.
func (h *Handler) apiLog(w http.ResponseWriter, r *http.Request, _ auth) {
	app, v, err := releaseParams(r)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	log, err := h.cfg.Backend.BuildLog(r.Context(), app, v)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(log)
}

// apiRollback serves POST /api/apps/NAME/rollback with an optional body
// {"version": N}; without one, the backend picks the previous release.
func (h *Handler) apiRollback(w http.ResponseWriter, r *http.Request, _ auth) {
	app := r.PathValue("app")
	if err := slipway.ValidateAppName(app); err != nil {
		h.apiError(w, r, err)
		return
	}
	var body struct {
		Version slipway.Version `json:"version"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		h.apiError(w, r, slipway.Errorf(slipway.EINVALID, "bad request body: want {\"version\": N}"))
		return
	}
	if body.Version < 0 {
		h.apiError(w, r, slipway.Errorf(slipway.EINVALID, "bad version %d", body.Version))
		return
	}
	rel, err := h.rollback(r, app, body.Version, "api")
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewReleaseJSON(rel))
}
