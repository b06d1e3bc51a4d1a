package web

import (
	"net/http"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/termsafe"
)

// maxLogShown is how much of a build log the release page shows: the
// end, where the failure is. The raw log link has all of it.
const maxLogShown = 1 << 20

type appsPage struct {
	basePage
	Apps     []appView
	State    string
	Services servicesSection
	// Sparks are each app's requests per second, by name; nil without
	// Config.Stats.
	Sparks map[string]*sparkView
}

type releasePage struct {
	basePage
	App       string
	Release   releaseView
	Log       string
	LogError  string // why there is no log
	Cut       int    // bytes left out at the start of the log
	Following bool   // still building: app.js follows the log
}

type loginPage struct {
	basePage
	Next  string
	Error string
}

type errorPage struct {
	basePage
	Status  int
	Message string
}

// appsPage serves GET /: every app with its live release, and every
// backing service.
func (h *Handler) appsPage(w http.ResponseWriter, r *http.Request, a auth) {
	apps, err := h.apps(r)
	if err != nil {
		h.pageError(w, r, a, err)
		return
	}
	now := h.now()
	views := make([]appView, len(apps))
	for i, app := range apps {
		views[i] = appView{AppSummary: app, now: now}
	}
	p := &appsPage{basePage: h.base(a, "Apps"), Apps: views, State: appsState(apps), Services: h.servicesSection(r)}
	if h.cfg.Stats != nil {
		p.Sparks = make(map[string]*sparkView, len(apps))
		for _, app := range apps {
			p.Sparks[app.Name] = sparkFor(h.cfg.Stats.AppStats(app.Name), now)
		}
	}
	h.render(w, r, http.StatusOK, "apps.html", p)
}

// releasePage serves GET /apps/NAME/releases/vN: one release and its
// build log.
func (h *Handler) releasePage(w http.ResponseWriter, r *http.Request, a auth) {
	app, v, err := releaseParams(r)
	if err != nil {
		h.pageError(w, r, a, err)
		return
	}
	rel, err := h.cfg.Backend.Release(r.Context(), app, v)
	if err != nil {
		h.pageError(w, r, a, err)
		return
	}
	p := &releasePage{
		basePage:  h.base(a, app+" "+v.String()),
		App:       app,
		Release:   releaseView{Release: rel, now: h.now()},
		Following: rel.Status == slipway.StatusBuilding,
	}
	log, err := h.cfg.Backend.BuildLog(r.Context(), app, v)
	switch {
	case slipway.ErrorCode(err) == slipway.ENOTFOUND:
		p.LogError = slipway.ErrorMessage(err)
	case err != nil:
		h.pageError(w, r, a, err)
		return
	}
	if len(log) > maxLogShown {
		p.Cut = len(log) - maxLogShown
		log = log[p.Cut:]
	}
	p.Log = termsafe.Plain(string(log)) // colours and control characters are noise here; the raw log has them
	h.render(w, r, http.StatusOK, "release.html", p)
}

// rollbackForm serves POST /apps/NAME/rollback from the history page's
// button. The rollback runs here, before the redirect, so the page the
// browser lands on shows its outcome.
func (h *Handler) rollbackForm(w http.ResponseWriter, r *http.Request, a auth) {
	app := r.PathValue("app")
	if err := slipway.ValidateAppName(app); err != nil {
		h.pageError(w, r, a, err)
		return
	}
	var to slipway.Version
	var err error
	if s := r.PostFormValue("version"); s != "" {
		to, err = slipway.ParseVersion(s)
	}
	var rel *slipway.Release
	if err == nil {
		rel, err = h.rollback(r, app, to, "web")
	}
	if err != nil {
		_, msg := h.statusOf(r, err)
		h.setFlash(w, r, flash{Kind: "error", Message: "Rollback failed: " + msg})
	} else {
		h.setFlash(w, r, flash{Kind: "ok", Message: "Rolled back to " + rel.RollbackOf.String() + ": " + rel.Version.String() + " is live."})
	}
	http.Redirect(w, r, "/apps/"+app, http.StatusSeeOther)
}
