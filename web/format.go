package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// ago renders how long before now t was: "12s ago", "3m ago", "5h ago",
// "4d ago"; "—" for the zero time.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if now.Sub(t) < 5*time.Second {
		return "just now"
	}
	return since(t, now) + " ago"
}

// since renders how long before now t was without "ago": "12s", "3m",
// "5h", "4d"; "—" for the zero time.
func since(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

// duration renders a build time: "40ms", "12.3s", "1m12s"; "—" for none.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return strconv.Itoa(int(d.Milliseconds())) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}

// statusClass returns the CSS class of a release status, "unknown" for a
// status this page does not know.
func statusClass(status slipway.ReleaseStatus) string {
	switch status {
	case slipway.StatusBuilding, slipway.StatusFailed, slipway.StatusLive, slipway.StatusDraining, slipway.StatusRetired:
		return string(status)
	}
	return "unknown"
}

// releaseView is a release as the pages show it.
type releaseView struct {
	*slipway.Release
	now time.Time
	// Changes is what a config or rollback release changed in the config.
	Changes *ConfigChange
}

// Live reports whether the release serves new sessions.
func (v releaseView) Live() bool { return v.Status == slipway.StatusLive }

// Number is the version as a plain number, for data attributes and forms.
func (v releaseView) Number() int { return int(v.Version) }

// StatusClass is the CSS class of the state badge.
func (v releaseView) StatusClass() string { return statusClass(v.Status) }

// Short is the short commit id.
func (v releaseView) Short() string { return slipway.ShortSHA(v.Commit, 7) }

// Age is how long ago the release was made.
func (v releaseView) Age() string { return ago(v.CreatedAt, v.now) }

// AuthorName is the author without the e-mail address, which the page
// puts in a title attribute.
func (v releaseView) AuthorName() string {
	if i := strings.LastIndex(v.Author, " <"); i > 0 && strings.HasSuffix(v.Author, ">") {
		return v.Author[:i]
	}
	return v.Author
}

// Created is the creation time for a title attribute.
func (v releaseView) Created() string {
	if v.CreatedAt.IsZero() {
		return ""
	}
	return v.CreatedAt.UTC().Format(time.RFC3339)
}

// Build is the build duration.
func (v releaseView) Build() string { return duration(v.BuildDuration) }

// KindLabel says what made the release: "push", "Rollback to v2", "config".
func (v releaseView) KindLabel() string {
	if v.Kind == slipway.KindRollback && v.RollbackOf > 0 {
		return "Rollback to " + v.RollbackOf.String()
	}
	return string(v.Kind)
}

// Pusher names who made the release: the key's comment, else its
// fingerprint.
func (v releaseView) Pusher() string {
	switch {
	case v.PusherComment != "":
		// A config release or rollback by a key records "comment (SHA256:…)".
		if name, fp, ok := strings.Cut(v.PusherComment, " (SHA256:"); ok && strings.HasSuffix(fp, ")") {
			return name
		}
		return v.PusherComment
	case len(v.PusherFingerprint) > 19:
		return v.PusherFingerprint[:19] + "…"
	case v.PusherFingerprint != "":
		return v.PusherFingerprint
	}
	return "—"
}

// CanRollback reports whether the page offers a rollback to the release:
// it must have a build to go back to, and not be live already.
func (v releaseView) CanRollback() bool { return canRollback(v.Release) }

func canRollback(r *slipway.Release) bool {
	switch r.Status {
	case slipway.StatusLive, slipway.StatusFailed, slipway.StatusBuilding:
		return false
	}
	return !r.Pruned
}

// releasesState is the data-state of a history table: what the polling
// script compares with the API's answer. app.js computes the same string.
func releasesState(rels []*slipway.Release) string {
	parts := make([]string, len(rels))
	for i, r := range rels {
		parts[i] = strconv.Itoa(int(r.Version)) + ":" + string(r.Status)
		if r.Pruned {
			parts[i] += ":pruned"
		}
	}
	return strings.Join(parts, ",")
}

// appsState is the data-state of the apps table, as app.js computes it.
func appsState(apps []AppSummary) string {
	parts := make([]string, len(apps))
	for i, a := range apps {
		parts[i] = fmt.Sprintf("%s:%d:%d:%d:%s:%d:%t:%s", a.Name, a.Live, a.Instances, a.Draining, strings.Join(a.Domains, " "), a.Crashed, a.CrashLoop, a.State)
	}
	return strings.Join(parts, ",")
}

// appView is an app as the apps page shows it.
type appView struct {
	AppSummary
	now time.Time
}

// StateClass is the CSS class of the app's state badge.
func (v appView) StateClass() string {
	switch v.State {
	case "running":
		return "live"
	case "crashed":
		return "failed"
	case "maintenance":
		return "draining"
	}
	return "retired"
}

// LastDeployAgo is how long ago the app last deployed.
func (v appView) LastDeployAgo() string { return ago(v.LastDeploy, v.now) }

// LastDeployAt is the last deploy time for a title attribute.
func (v appView) LastDeployAt() string {
	if v.LastDeploy.IsZero() {
		return ""
	}
	return v.LastDeploy.UTC().Format(time.RFC3339)
}
