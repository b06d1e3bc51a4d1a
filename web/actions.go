package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/slipway/slipway"
)

// PageCaller is who the activity list says changed an app from the admin
// page: the page signs in with the admin token, which names nobody, and
// "(page)" tells it from the API, which the host's CLI uses.
const PageCaller = "admin (page)"

// maxActionOutput is how much of a command's output the page keeps: the
// end, whose last line is the flash.
const maxActionOutput = 64 << 10

// action is one change the app page asks for: a command of the ssh
// command table, run with the same words as over ssh, so that it goes
// through the same use case and lands in the activity list.
type action struct {
	command string   // "ps:restart"
	args    []string // after the app's name
	// done is the flash when the command prints nothing; prefix, if set,
	// goes before the command's last line. Neither holds a config value.
	done, prefix string
	// secret is a config value the flash and the log must never show.
	secret string
	// confirm, set for a change that is hard to undo, is asked first.
	confirm *confirmPage
}

// actionFunc reads a form of the app page into the action it asks for; an
// error is shown as the flash, and nothing runs.
type actionFunc func(r *http.Request, app string, d *AppDetail) (action, error)

// routeActions adds the app page's forms: each a POST with the session's
// CSRF token (h.page checks it) that runs one command and comes back to
// the page with its outcome.
func (h *Handler) routeActions(mux *http.ServeMux) {
	for path, f := range map[string]actionFunc{
		"config/set":                configSetAction,
		"config/unset":              configUnsetAction,
		"scale":                     scaleAction,
		"restart":                   restartAction,
		"stop":                      stopAction,
		"start":                     startAction,
		"maintenance/on":            maintenanceOnAction,
		"maintenance/off":           maintenanceOffAction,
		"domains/add":               domainAddAction,
		"domains/remove":            domainRemoveAction,
		"releases/{version}/retire": retireAction,
	} {
		mux.HandleFunc("POST /apps/{app}/"+path, h.page(h.act(f)))
	}
	mux.HandleFunc("POST /apps/{app}/config/reveal", h.page(h.revealConfig))
}

// actionApp returns the app of an action's path, and what runs of it;
// an unknown app is ENOTFOUND, a slipway without commands too.
func (h *Handler) actionApp(r *http.Request) (string, *AppDetail, error) {
	app := r.PathValue("app")
	if err := slipway.ValidateAppName(app); err != nil {
		return "", nil, err
	}
	if h.cfg.Commands == nil {
		return "", nil, slipway.Errorf(slipway.ENOTFOUND, "this admin page runs no commands")
	}
	d, err := h.cfg.Backend.App(r.Context(), app)
	return app, d, err
}

// act serves an action's POST: it reads the form, asks first when the
// change is destructive and the form did not say confirm=yes, runs the
// command and redirects to the app page with the outcome as the flash.
func (h *Handler) act(f actionFunc) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, a auth) {
		app, d, err := h.actionApp(r)
		if err != nil {
			h.pageError(w, r, a, err)
			return
		}
		act, err := f(r, app, d)
		if err == nil {
			err = noFlags(act.args)
		}
		switch {
		case err != nil:
			_, msg := h.statusOf(r, err)
			h.setFlash(w, r, flash{Kind: "error", Message: msg})
		case act.command == "":
			h.setFlash(w, r, flash{Kind: "ok", Message: act.done})
		case act.confirm != nil && r.PostFormValue("confirm") != "yes":
			c := act.confirm
			c.basePage, c.App, c.Action = h.base(a, c.Question), app, r.URL.Path
			h.render(w, r, http.StatusOK, "confirm.html", c)
			return
		default:
			h.setFlash(w, r, h.run(r, app, act))
		}
		http.Redirect(w, r, "/apps/"+app, http.StatusSeeOther)
	}
}

// run runs act's command on app as the page's caller, and returns the
// flash that says how it went: the command's last line, or its error.
func (h *Handler) run(r *http.Request, app string, act action) flash {
	// A closed tab must not stop a restart or a release halfway.
	ctx := slipway.WithCallerName(context.WithoutCancel(r.Context()), PageCaller)
	out := &tailBuffer{max: maxActionOutput}
	err := h.cfg.Commands(ctx, act.command, append([]string{app}, act.args...), strings.NewReader(""), out)
	if err != nil {
		_, msg := h.statusOf(r, err)
		msg = scrub(msg, act.secret)
		h.log.Info("admin page action failed", "app", app, "command", act.command, "what", act.done, "reason", msg)
		return flash{Kind: "error", Message: msg}
	}
	h.log.Info("admin page action", "app", app, "command", act.command, "what", act.done, "remote", r.RemoteAddr)
	msg := lastLine(out.String())
	if act.secret != "" && strings.Contains(msg, act.secret) {
		msg = ""
	}
	switch {
	case msg == "":
		msg = act.done
	case act.prefix != "":
		msg = act.prefix + ": " + msg
	}
	return flash{Kind: "ok", Message: msg}
}

// noFlags refuses words that start with "-": the command table reads one
// as a flag ("-h" prints the usage and succeeds), and no field of the
// page is one.
func noFlags(args []string) error {
	for _, arg := range args {
		if strings.HasPrefix(arg, "-") {
			return slipway.Errorf(slipway.EINVALID, "%q: a value may not start with \"-\"", slipway.OneLine(arg, 80))
		}
	}
	return nil
}

// lastLine is the last line of a command's output that says something,
// without the progress arrow of a deploy.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i]), "----->"))
		if l != "" {
			return slipway.OneLine(l, 300)
		}
	}
	return ""
}

// scrub masks secret in msg: an error that quoted a config value must
// not show it on the page.
func scrub(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "••••••")
}

// tailBuffer keeps the last max bytes written to it, where the line the
// flash shows is, so that no command's output grows without bound in
// memory.
type tailBuffer struct {
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return string(b.buf[max(0, len(b.buf)-b.max):]) }

// confirmPage asks before a destructive action runs: the same form again,
// with confirm=yes. It is a page of its own rather than a script's
// confirm(), so that it works without JavaScript and the server, not the
// browser, decides that nothing runs unasked.
type confirmPage struct {
	basePage
	App      string
	Action   string // the form's path
	Question string // "Stop shop?"
	Text     string // what happens
	Button   string // "Stop shop"
	Fields   []formField
}

// formField is a field the confirmed form posts again.
type formField struct{ Name, Value string }
