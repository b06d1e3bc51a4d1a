package web

import (
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// maxActivityShown is how many entries the app page's activity list has.
const maxActivityShown = 30

// appPage is GET /apps/NAME: what runs of the app, its history and what
// was done to it.
type appPage struct {
	basePage
	App      string
	Detail   *AppDetail
	Releases []releaseView
	State    string // of the history table
	RunState string // of the running system (detailState)
	Building *releaseView
	Activity []activity
	Flash    *flash
	Actions  *actionsView // the forms that change the app (actions_view.go)
	Charts   *chartsView  // nil without Config.Stats
	now      time.Time
}

// appPage serves GET /apps/NAME.
func (h *Handler) appPage(w http.ResponseWriter, r *http.Request, a auth) {
	h.showAppPage(w, r, a, nil)
}

// showAppPage renders the app page, with the config values in revealed
// shown (see revealConfig).
func (h *Handler) showAppPage(w http.ResponseWriter, r *http.Request, a auth, revealed map[string]string) {
	app := r.PathValue("app")
	rels, err := h.releases(r, app)
	if err != nil {
		h.pageError(w, r, a, err)
		return
	}
	d, err := h.cfg.Backend.App(r.Context(), app)
	if err != nil {
		h.pageError(w, r, a, err)
		return
	}
	now := h.now()
	p := &appPage{
		basePage: h.base(a, app),
		App:      app,
		Detail:   d,
		State:    releasesState(rels),
		RunState: detailState(d),
		Flash:    h.takeFlash(w, r),
		now:      now,
	}
	changes := configChanges(rels)
	for i, rel := range rels {
		v := releaseView{Release: rel, now: now, Changes: changes[rel.Version]}
		p.Releases = append(p.Releases, v)
		if rel.Status == slipway.StatusBuilding && p.Building == nil {
			p.Building = &p.Releases[i]
		}
	}
	p.Activity = activities(rels, d.Events, changes, now)
	p.Actions = h.actionsView(d, revealed)
	if h.cfg.Stats != nil {
		p.Charts = chartsFor(h.cfg.Stats.AppStats(app), now)
	}
	h.render(w, r, http.StatusOK, "app.html", p)
}

// apiApp serves GET /api/apps/NAME: the running system of the app, with
// the state string the page polls on.
func (h *Handler) apiApp(w http.ResponseWriter, r *http.Request, _ auth) {
	app := r.PathValue("app")
	if err := slipway.ValidateAppName(app); err != nil {
		h.apiError(w, r, err)
		return
	}
	d, err := h.cfg.Backend.App(r.Context(), app)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*AppDetail
		State string `json:"state"`
	}{d, detailState(d)})
}

// detailState sums up what the app page's running section shows, so that
// app.js refreshes it when, and only when, something in it changed.
func detailState(d *AppDetail) string {
	h := fnv.New64a()
	for _, p := range d.Processes {
		fmt.Fprintf(h, "p%s:%d:%s:%s:%d:%d;", p.ID, p.Release, p.State, p.LastExit, p.Restarts, p.PID)
	}
	for _, dr := range d.Draining {
		fmt.Fprintf(h, "d%d:%d:%d;", dr.Release, dr.Sessions, dr.RetireBy.Unix())
	}
	for _, c := range d.Config {
		fmt.Fprintf(h, "c%s:%t:%t;", c.Key, c.Pending, c.Removed)
	}
	for _, s := range d.Services {
		fmt.Fprintf(h, "s%s:%s:%s;", s.Name, s.State, s.Var)
	}
	fmt.Fprintf(h, "%s|%v|%t%t%t|%d|", strings.Join(d.Domains, ","), d.Scale, d.Maintenance, d.Stopped, d.CrashLoop, len(d.Events))
	if len(d.Events) > 0 {
		fmt.Fprint(h, d.Events[0].At.UnixNano())
	}
	h.Write([]byte(d.Log))
	return strconv.FormatUint(h.Sum64(), 36)
}

// ConfigChange is what a release changed in the config, by key: never a
// value.
type ConfigChange struct {
	Added, Changed, Removed []string
}

// Empty reports whether nothing changed.
func (c ConfigChange) Empty() bool { return len(c.Added)+len(c.Changed)+len(c.Removed) == 0 }

// String is "added A, B; changed C; removed D".
func (c ConfigChange) String() string {
	var parts []string
	for _, p := range []struct {
		word string
		keys []string
	}{{"added", c.Added}, {"changed", c.Changed}, {"removed", c.Removed}} {
		if len(p.keys) > 0 {
			parts = append(parts, p.word+" "+strings.Join(p.keys, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

// configChanges compares each config and rollback release's config with
// that of the release before it that ran (rels is newest first). A push
// takes the stored config as it is, which config releases already showed.
func configChanges(rels []*slipway.Release) map[slipway.Version]*ConfigChange {
	out := map[slipway.Version]*ConfigChange{}
	for i, rel := range rels {
		if rel.Kind != slipway.KindConfig && rel.Kind != slipway.KindRollback {
			continue
		}
		var before map[string]string
		for _, older := range rels[i+1:] {
			if !older.StartedAt.IsZero() {
				before = older.Config
				break
			}
		}
		c := diffConfig(before, rel.Config)
		out[rel.Version] = &c
	}
	return out
}

// diffConfig returns the keys added, changed and removed from a to b.
func diffConfig(a, b map[string]string) ConfigChange {
	var c ConfigChange
	for _, k := range slices.Sorted(maps.Keys(b)) {
		old, ok := a[k]
		switch {
		case !ok:
			c.Added = append(c.Added, k)
		case old != b[k]:
			c.Changed = append(c.Changed, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if _, ok := b[k]; !ok {
			c.Removed = append(c.Removed, k)
		}
	}
	return c
}

// activity is one line of the app page's activity list.
type activity struct {
	At     time.Time
	Ago    string
	Kind   string // a release kind or an event kind
	By     string // the key's comment, or whoever did it
	ByFull string // with the key's fingerprint, for a title attribute
	What   string
}

// When is the time for a title attribute.
func (a activity) When() string { return a.At.UTC().Format(time.RFC3339) }

// activities merges the releases and the events into one list, newest
// first.
func activities(rels []*slipway.Release, events []slipway.Event, changes map[slipway.Version]*ConfigChange, now time.Time) []activity {
	var out []activity
	for _, rel := range rels {
		v := releaseView{Release: rel, now: now}
		by := rel.PusherComment
		if by == "" {
			by = rel.PusherFingerprint
		}
		a := activity{At: rel.CreatedAt, Kind: string(rel.Kind), By: by}
		switch rel.Kind {
		case slipway.KindPush:
			a.What = "pushed " + v.Short() + " " + slipway.OneLine(rel.Subject, 80) + " as " + rel.Version.String()
		case slipway.KindRollback:
			a.What = "rolled back to " + rel.RollbackOf.String() + " as " + rel.Version.String()
		case slipway.KindConfig:
			a.What = "config release " + rel.Version.String()
			if c := changes[rel.Version]; c != nil && !c.Empty() {
				a.What += ": " + c.String()
			}
		default:
			a.What = string(rel.Kind) + " " + rel.Version.String()
		}
		if rel.Status == slipway.StatusFailed {
			a.What += " (failed)"
		}
		out = append(out, a)
	}
	for _, e := range events {
		out = append(out, activity{At: e.At, Kind: e.Kind, By: e.By, What: eventText(e)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if len(out) > maxActivityShown {
		out = out[:maxActivityShown]
	}
	for i := range out {
		out[i].Ago = ago(out[i].At, now)
		out[i].ByFull = out[i].By
		// A key is recorded as "comment (SHA256:…)": the comment is
		// enough in the list, the fingerprint is in the title.
		if name, fp, ok := strings.Cut(out[i].By, " (SHA256:"); ok && strings.HasSuffix(fp, ")") {
			out[i].By = name
		}
		if out[i].By == "" {
			out[i].By = "—"
		}
	}
	return out
}

// eventText says what an event did, in a few words.
func eventText(e slipway.Event) string {
	detail := slipway.OneLine(e.Detail, 120)
	switch e.Kind {
	case slipway.EventScale:
		return "scaled " + detail
	case slipway.EventRestart:
		return "restarted every process"
	case slipway.EventStop:
		return "stopped the app"
	case slipway.EventStart:
		return "started the app (" + detail + ")"
	case slipway.EventMaintenance:
		return "maintenance " + detail
	case slipway.EventDomains:
		return "domains: " + detail
	case slipway.EventRetire:
		return "retired " + detail + " by hand"
	case slipway.EventRun:
		return "ran " + detail
	case slipway.EventConfig:
		return "config: " + detail
	case slipway.EventResources:
		return "limits of " + detail
	case slipway.EventRename:
		return "renamed " + detail
	case slipway.EventCreate:
		return "created the app"
	case slipway.EventAccessLog:
		return "access lines " + detail
	case slipway.EventDrains:
		return "log drains: " + detail
	case slipway.EventWebhooks:
		return "webhooks: " + detail
	}
	return e.Kind + " " + detail
}

// processView is a process as the app page shows it.
type processView struct {
	Process
	now time.Time
}

// Uptime is how long it has been in its state.
func (v processView) Uptime() string { return since(v.Since, v.now) }

// SinceAt is the time for a title attribute.
func (v processView) SinceAt() string { return v.Since.UTC().Format(time.RFC3339) }

// StateClass is the badge class of its state.
func (v processView) StateClass() string { return stateClass(v.State) }

// PortText is its port, "—" for a worker.
func (v processView) PortText() string {
	if v.Port == 0 {
		return "—"
	}
	return strconv.Itoa(v.Port)
}

// drainView is a draining pool as the app page shows it.
type drainView struct {
	Drain
	now time.Time
}

func (v drainView) DrainingFor() string { return since(v.Since, v.now) }
func (v drainView) LastSeenAgo() string { return ago(v.LastSeen, v.now) }

// Sleeping says since when the pool sleeps, "" while it is awake.
func (v drainView) Sleeping() string {
	if v.SleepingSince.IsZero() {
		return ""
	}
	return since(v.SleepingSince, v.now)
}
func (v drainView) IdleAt() string { return clock(v.IdleRetire) }
func (v drainView) ByAt() string   { return clock(v.RetireBy) }

// Processes are the app's processes for the template.
func (p *appPage) Processes() []processView {
	out := make([]processView, len(p.Detail.Processes))
	for i, pr := range p.Detail.Processes {
		out[i] = processView{Process: pr, now: p.now}
	}
	return out
}

// Draining are the app's draining pools for the template.
func (p *appPage) Draining() []drainView {
	out := make([]drainView, len(p.Detail.Draining))
	for i, d := range p.Detail.Draining {
		out[i] = drainView{Drain: d, now: p.now}
	}
	return out
}

// ScaleText is "web=2 worker=1", sorted by type.
func (p *appPage) ScaleText() string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(p.Detail.Scale)) {
		parts = append(parts, t+"="+strconv.Itoa(p.Detail.Scale[t]))
	}
	return strings.Join(parts, " ")
}

// clock renders t as "15:04:05 UTC", with the date when it is not today.
func clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
