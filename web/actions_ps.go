package web

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway/slipway"
)

// scaleType is a process type of the live release with its instance
// count, for the scale form.
type scaleType struct {
	Type  string
	Count int
}

// scaleTypes are the process types of d's live release, web first: those
// that run and those scaled to some count, each with the count kept for
// it, or else with how many run.
func scaleTypes(d *AppDetail) []scaleType {
	counts := map[string]int{}
	for _, p := range d.Processes {
		if p.Live {
			typ, _, _ := strings.Cut(p.ID, ".")
			counts[typ]++
		}
	}
	maps.Copy(counts, d.Scale)
	types := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "web":
			return -1
		case b == "web":
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make([]scaleType, len(types))
	for i, t := range types {
		out[i] = scaleType{t, counts[t]}
	}
	return out
}

// scaleAction is the scale form, one field scale.TYPE per process type:
// ps:scale NAME TYPE=N for each count that changed, confirmed first when
// one goes to 0. A count is passed on as typed, so ps:scale says what is
// wrong with it.
func scaleAction(r *http.Request, app string, d *AppDetail) (action, error) {
	current := map[string]int{}
	for _, t := range scaleTypes(d) {
		current[t.Type] = t.Count
	}
	var args, zero []string
	var fields []formField
	for _, name := range slices.Sorted(maps.Keys(r.PostForm)) {
		typ, ok := strings.CutPrefix(name, "scale.")
		if !ok {
			continue
		}
		v := strings.TrimSpace(r.PostForm.Get(name))
		fields = append(fields, formField{name, v})
		n, err := strconv.Atoi(v)
		if c, ok := current[typ]; v == "" || (err == nil && ok && n == c) {
			continue
		}
		args = append(args, typ+"="+v)
		if err == nil && n == 0 {
			zero = append(zero, typ)
		}
	}
	if len(args) == 0 {
		return action{done: "No change to the scale of " + app}, nil
	}
	act := action{command: "ps:scale", args: args, done: "Scaled " + app + " to " + strings.Join(args, " ")}
	if len(zero) > 0 {
		text := "Every " + strings.Join(zero, " and ") + " process of " + app + " stops."
		if slices.Contains(zero, "web") {
			text = "With no web process " + app + " stops, as with Stop: the router answers 503 until it is started again."
		}
		act.confirm = &confirmPage{Question: "Scale " + app + " to " + strings.Join(args, " ") + "?", Text: text,
			Button: "Scale to " + strings.Join(args, " "), Fields: fields}
	}
	return act, nil
}

func restartAction(_ *http.Request, app string, _ *AppDetail) (action, error) {
	return action{command: "ps:restart", done: "Restarted " + app}, nil
}

func stopAction(_ *http.Request, app string, _ *AppDetail) (action, error) {
	return action{command: "ps:stop", done: "Stopped " + app, confirm: &confirmPage{
		Question: "Stop " + app + "?",
		Text: "Every process of " + app + " ends, and the router answers 503 until it is started again. " +
			"It stays stopped across restarts of slipway; Start or a push runs it again.",
		Button: "Stop " + app,
	}}, nil
}

func startAction(_ *http.Request, app string, _ *AppDetail) (action, error) {
	return action{command: "ps:start", done: "Started " + app}, nil
}

func maintenanceOnAction(_ *http.Request, app string, _ *AppDetail) (action, error) {
	return action{command: "maintenance:on", done: app + " is in maintenance", confirm: &confirmPage{
		Question: "Put " + app + " in maintenance?",
		Text: "Every request to " + app + " gets 503 and its maintenance.html, if it has one; its processes keep running. " +
			"Maintenance off serves it again.",
		Button: "Maintenance on",
	}}, nil
}

func maintenanceOffAction(_ *http.Request, app string, _ *AppDetail) (action, error) {
	return action{command: "maintenance:off", done: app + " is out of maintenance"}, nil
}

func domainAddAction(r *http.Request, app string, _ *AppDetail) (action, error) {
	domain := strings.TrimSpace(r.PostFormValue("domain"))
	if domain == "" {
		return action{}, slipway.Errorf(slipway.EINVALID, "type the domain to add, such as shop.example.com")
	}
	return action{command: "domains:add", args: []string{domain}, done: "Added " + domain + " to " + app}, nil
}

func domainRemoveAction(r *http.Request, app string, _ *AppDetail) (action, error) {
	domain := r.PostFormValue("domain")
	if domain == "" {
		return action{}, slipway.Errorf(slipway.EINVALID, "say which domain to remove")
	}
	return action{command: "domains:remove", args: []string{domain}, done: "Removed " + domain + " from " + app,
		confirm: &confirmPage{
			Question: "Remove " + domain + " from " + app + "?",
			Text:     "The router stops sending requests for " + domain + " to " + app + ". " + app + " keeps its other names.",
			Button:   "Remove " + domain,
			Fields:   []formField{{"domain", domain}},
		}}, nil
}

// retireAction is a draining release's Retire button: releases:retire
// NAME vN, confirmed first.
func retireAction(r *http.Request, app string, d *AppDetail) (action, error) {
	v := r.PathValue("version")
	sessions := "Its sessions move"
	for _, dr := range d.Draining {
		if dr.Release.String() == v {
			sessions = fmt.Sprintf("The %d session(s) pinned to it since it drains move", dr.Sessions)
		}
	}
	return action{command: "releases:retire", args: []string{v}, done: "Retired " + v + " of " + app, confirm: &confirmPage{
		Question: "Retire " + v + " of " + app + " now?",
		Text:     sessions + " to the live release, and its processes stop once their requests in flight end.",
		Button:   "Retire " + v,
	}}, nil
}
