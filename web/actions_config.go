package web

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/slipway/slipway"
)

// configSetAction is the Set form of the config: config:set NAME
// KEY=VALUE.
func configSetAction(r *http.Request, app string, _ *AppDetail) (action, error) {
	key := strings.TrimSpace(r.PostFormValue("key"))
	// A browser sends a textarea's line breaks as CRLF; a value typed on
	// several lines means LF, as it would in a shell.
	value := strings.ReplaceAll(r.PostFormValue("value"), "\r\n", "\n")
	// Checked here too, with config:set's own words: KEY=VALUE is cut at
	// the first "=", so a key holding one would set another key.
	if err := slipway.ValidateConfigKey(key); err != nil {
		return action{}, err
	}
	return action{command: "config:set", args: []string{key + "=" + value}, secret: value,
		prefix: "Set " + key, done: "Set " + key + " on " + app}, nil
}

// configUnsetAction is a config key's Unset button: config:unset NAME KEY,
// confirmed first.
func configUnsetAction(r *http.Request, app string, _ *AppDetail) (action, error) {
	key := r.PostFormValue("key")
	if err := slipway.ValidateConfigKey(key); err != nil {
		return action{}, err
	}
	return action{command: "config:unset", args: []string{key}, prefix: "Unset " + key, done: "Unset " + key + " on " + app,
		confirm: &confirmPage{
			Question: "Unset " + key + " on " + app + "?",
			Text: key + " leaves the config of " + app + ", and a config release replaces its processes with ones " +
				"that run without it. Its value is gone: setting it again needs the value.",
			Button: "Unset " + key,
			Fields: []formField{{"key", key}},
		}}, nil
}

// revealConfig serves POST /apps/NAME/config/reveal: the app page with the
// values of every config var, or of the one the form names, shown on this
// answer alone (it is a POST, not stored by the browser: no-store). It
// changes nothing, so it leaves no activity, but the log says who looked.
func (h *Handler) revealConfig(w http.ResponseWriter, r *http.Request, a auth) {
	app, d, err := h.actionApp(r)
	if err != nil {
		h.pageError(w, r, a, err)
		return
	}
	want := r.PostFormValue("key")
	var keys []string
	for _, c := range d.Config {
		if !c.Removed && (want == "" || c.Key == want) {
			keys = append(keys, c.Key)
		}
	}
	fail := func(err error) {
		_, msg := h.statusOf(r, err)
		h.setFlash(w, r, flash{Kind: "error", Message: msg})
		http.Redirect(w, r, "/apps/"+app, http.StatusSeeOther)
	}
	if want != "" && len(keys) == 0 {
		fail(slipway.Errorf(slipway.ENOTFOUND, "%s has no config var %q", app, slipway.OneLine(want, 80)))
		return
	}
	// config:get prints one value exactly, where config --reveal lines
	// them up for a terminal.
	ctx := slipway.WithCallerName(r.Context(), PageCaller)
	values := make(map[string]string, len(keys))
	for _, k := range keys {
		var out bytes.Buffer
		if err := h.cfg.Commands(ctx, "config:get", []string{app, k}, strings.NewReader(""), &out); err != nil {
			fail(err)
			return
		}
		values[k] = strings.TrimSuffix(out.String(), "\n")
	}
	h.log.Info("admin page revealed config values", "app", app, "keys", strings.Join(keys, " "), "remote", r.RemoteAddr)
	h.showAppPage(w, r, a, values)
}
