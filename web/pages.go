package web

import (
	"net/http"
	"strings"

	"github.com/slipway/slipway"
)

// maxLogShown is how much of a build log the release page shows: the
// end, where the failure is. The raw log link has all of it.
const maxLogShown = 1 << 20

type appsPage struct {
	basePage
	Apps  []appView
	State string
}

type historyPage struct {
	basePage
	App      string
	Releases []releaseView
	State    string
	Flash    *flash
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

// appsPage serves GET /: every app with its live release.
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
	h.render(w, r, http.StatusOK, "apps.html", &appsPage{basePage: h.base(a, "Apps"), Apps: views, State: appsState(apps)})
}

// historyPage serves GET /apps/NAME: the app's release history.
func (h *Handler) historyPage(w http.ResponseWriter, r *http.Request, a auth) {
	app := r.PathValue("app")
	rels, err := h.releases(r, app)
	if err != nil {
		h.pageError(w, r, a, err)
		return
	}
	now := h.now()
	views := make([]releaseView, len(rels))
	for i, rel := range rels {
		views[i] = releaseView{Release: rel, now: now}
	}
	h.render(w, r, http.StatusOK, "history.html", &historyPage{
		basePage: h.base(a, app),
		App:      app,
		Releases: views,
		State:    releasesState(rels),
		Flash:    h.takeFlash(w, r),
	})
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
	p.Log = strings.ToValidUTF8(string(log), "\uFFFD")
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
