package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// ServiceStatus is the domain's slipway.ServiceStatus.
type ServiceStatus = slipway.ServiceStatus

// services returns every backing service of every kind, sorted by name
// (a name is unique across kinds), each URL masked whatever the Backend
// gave.
func (h *Handler) services(r *http.Request) ([]ServiceStatus, error) {
	out := []ServiceStatus{}
	for _, kind := range slipway.ServiceKinds {
		list, err := h.cfg.Backend.Services(r.Context(), kind)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	slices.SortStableFunc(out, func(a, b ServiceStatus) int { return cmp.Compare(a.Name, b.Name) })
	for i := range out {
		out[i].URL = maskURL(out[i].URL)
	}
	return out, nil
}

// maskURL hides the password of a connection URL: the Backend's list
// masks it already, and the admin address never shows one even if that
// changed.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	if u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Scheme + "://" + u.User.Username() + ":********@" + u.Host + u.EscapedPath()
}

// apiServices serves GET /api/services: every backing service, both
// kinds, as SERVICE:info --json shows each (without --reveal).
func (h *Handler) apiServices(w http.ResponseWriter, r *http.Request, _ auth) {
	list, err := h.services(r)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// servicesSection is the apps page's list of backing services.
type servicesSection struct {
	Services []serviceView
	State    string
	Error    string // why the list could not be read; the apps still show
}

// servicesSection reads the services for the apps page. An error is shown
// in the section, not instead of the page: the apps matter at least as
// much.
func (h *Handler) servicesSection(r *http.Request) servicesSection {
	list, err := h.services(r)
	if err != nil {
		_, msg := h.statusOf(r, err)
		return servicesSection{Error: msg}
	}
	now := h.now()
	views := make([]serviceView, len(list))
	for i, s := range list {
		views[i] = serviceView{ServiceStatus: s, now: now}
	}
	return servicesSection{Services: views, State: servicesState(list)}
}

// servicesState is the data-state of the services table, as app.js
// computes it: what changes it shows at once. Sizes and ages change all
// the time; the once-a-minute refresh shows them.
func servicesState(list []ServiceStatus) string {
	parts := make([]string, len(list))
	for i, s := range list {
		apps := make([]string, len(s.Links))
		for j, l := range s.Links {
			apps[j] = l.App
		}
		backup := ""
		if s.LastBackup != nil {
			backup = s.LastBackup.Name
		}
		parts[i] = fmt.Sprintf("%s:%s:%s:%s:%d:%s:%s:%s", s.Name, s.Kind, s.Version, s.State, s.Restarts,
			strings.Join(apps, " "), backup, s.BackupSchedule)
	}
	return strings.Join(parts, ",")
}

// serviceView is a service as the apps page shows it.
type serviceView struct {
	ServiceStatus
	now time.Time
}

// StateClass is the badge class of its state.
func (v serviceView) StateClass() string { return stateClass(v.State) }

// For is how long it has been in its state; "" when that is not known.
func (v serviceView) For() string {
	if v.Since.IsZero() {
		return ""
	}
	return since(v.Since, v.now)
}

// SinceAt is the time it entered its state, for a title attribute.
func (v serviceView) SinceAt() string {
	if v.Since.IsZero() {
		return ""
	}
	return v.Since.UTC().Format(time.RFC3339)
}

// SizeText is the size of its data, as SERVICE:list shows it.
func (v serviceView) SizeText() string { return slipway.HumanBytes(v.Size) }

// BackupAgo is how long ago its last backup was taken; "" for never.
func (v serviceView) BackupAgo() string {
	if v.LastBackup == nil {
		return ""
	}
	return ago(v.LastBackup.Taken, v.now)
}

// BackupAt is when its last backup was taken, for a title attribute.
func (v serviceView) BackupAt() string {
	if v.LastBackup == nil {
		return ""
	}
	return v.LastBackup.Taken.UTC().Format(time.RFC3339)
}

// stateClass is the badge class of a process's or service's state: up,
// starting, crashed or stopped.
func stateClass(state string) string {
	switch state {
	case slipway.StateUp:
		return "live"
	case slipway.StateStarting:
		return "building"
	case slipway.StateStopped:
		return "retired"
	}
	return "failed"
}
