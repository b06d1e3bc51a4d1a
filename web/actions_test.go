package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// commandCall is one command the page ran.
type commandCall struct {
	Name string
	Args []string
	By   string
}

func (c commandCall) String() string { return c.Name + " " + strings.Join(c.Args, " ") + " by " + c.By }

// fakeCommands records the commands it is asked to run; each prints
// out[name], and fails with errs[name] if set. config:get prints the
// value in values.
type fakeCommands struct {
	mu     sync.Mutex
	calls  []commandCall
	out    map[string]string
	errs   map[string]error
	values map[string]string
}

func (f *fakeCommands) run(ctx context.Context, name string, args []string, _ io.Reader, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, commandCall{Name: name, Args: slices.Clone(args), By: slipway.CallerName(ctx, "")})
	if err := f.errs[name]; err != nil {
		return err
	}
	if name == "config:get" {
		fmt.Fprintln(out, f.values[args[1]])
	}
	io.WriteString(out, f.out[name])
	return nil
}

func (f *fakeCommands) taken() []commandCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls := f.calls
	f.calls = nil
	return calls
}

// newActionHandler returns a handler over the fake backend whose commands
// fc runs, logging into logs, with a signed-in session.
func newActionHandler(t *testing.T, fc *fakeCommands, logs io.Writer) (*Handler, *http.Cookie) {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	h := New(Config{Backend: newFakeBackend(), Token: testToken, Domain: "example.test", Commands: fc.run,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	h.now = func() time.Time { return t0 }
	return h, signIn(t, h)
}

// post sends form to path with the session's CSRF token.
func post(h *Handler, c *http.Cookie, path string, form url.Values) *httptest.ResponseRecorder {
	f := url.Values{"csrf": {csrfOf(h, c)}}
	for k, v := range form {
		f[k] = v
	}
	return h.do(req{method: http.MethodPost, path: path, form: f, cookies: []*http.Cookie{c}})
}

// flashOf returns the flash message w sets, "" for none.
func flashOf(t *testing.T, h *Handler, w *httptest.ResponseRecorder) *flash {
	t.Helper()
	c := findCookie(w, flashCookie)
	if c == nil {
		return nil
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	return h.takeFlash(httptest.NewRecorder(), r)
}

func TestActions_RunTheirCommandAsThePage(t *testing.T) {
	tests := []struct {
		path    string
		form    url.Values
		want    string // the command and its words
		confirm string // the confirmation's question, for a destructive one
	}{
		{"config/set", url.Values{"key": {"GREETING"}, "value": {"hello world\r\nsecond line"}}, "config:set hello GREETING=hello world\nsecond line", ""},
		{"config/set", url.Values{"key": {" EMPTY "}, "value": {""}}, "config:set hello EMPTY=", ""},
		{"config/unset", url.Values{"key": {"SECRET_KEY"}}, "config:unset hello SECRET_KEY", "Unset SECRET_KEY on hello?"},
		{"scale", url.Values{"scale.web": {"3"}}, "ps:scale hello web=3", ""},
		{"scale", url.Values{"scale.web": {"0"}}, "ps:scale hello web=0", "Scale hello to web=0?"},
		{"scale", url.Values{"scale.web": {"2"}, "scale.worker": {"0"}}, "ps:scale hello worker=0", "Scale hello to worker=0?"},
		{"restart", nil, "ps:restart hello", ""},
		{"stop", nil, "ps:stop hello", "Stop hello?"},
		{"start", nil, "ps:start hello", ""},
		{"maintenance/on", nil, "maintenance:on hello", "Put hello in maintenance?"},
		{"maintenance/off", nil, "maintenance:off hello", ""},
		{"domains/add", url.Values{"domain": {" shop.example.com "}}, "domains:add hello shop.example.com", ""},
		{"domains/remove", url.Values{"domain": {"www.example.com"}}, "domains:remove hello www.example.com", "Remove www.example.com from hello?"},
		{"releases/v2/retire", nil, "releases:retire hello v2", "Retire v2 of hello now?"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			fc := &fakeCommands{out: map[string]string{"ps:restart": "       web.1 restarted\nRestarted hello (v3)\n"}}
			h, c := newActionHandler(t, fc, nil)
			path := "/apps/hello/" + tt.path
			if tt.confirm != "" {
				w := post(h, c, path, tt.form)
				body := w.Body.String()
				if w.Code != http.StatusOK || !strings.Contains(body, tt.confirm) {
					t.Fatalf("unconfirmed POST %s = %d, want 200 asking %q:\n%s", path, w.Code, tt.confirm, body)
				}
				if calls := fc.taken(); len(calls) != 0 {
					t.Fatalf("unconfirmed POST %s ran %v", path, calls)
				}
				for _, want := range []string{`action="` + path + `"`, `name="csrf" value="` + csrfOf(h, c) + `"`,
					`name="confirm" value="yes"`, `href="/apps/hello">Cancel</a>`} {
					if !strings.Contains(body, want) {
						t.Errorf("the confirmation lacks %q:\n%s", want, body)
					}
				}
				for k, vs := range tt.form {
					if want := `name="` + k + `" value="` + vs[0] + `"`; !strings.Contains(body, want) {
						t.Errorf("the confirmation does not post %q again:\n%s", want, body)
					}
				}
				// The confirmation posts the same fields again, and confirm=yes.
				form := url.Values{"confirm": {"yes"}}
				for k, v := range tt.form {
					form[k] = v
				}
				tt.form = form
			}
			w := post(h, c, path, tt.form)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/apps/hello" {
				t.Fatalf("POST %s = %d to %q, want 303 to /apps/hello\n%s", path, w.Code, w.Header().Get("Location"), w.Body)
			}
			calls := fc.taken()
			if len(calls) != 1 || calls[0].Name+" "+strings.Join(calls[0].Args, " ") != tt.want || calls[0].By != PageCaller {
				t.Errorf("POST %s ran %q, want %q by %q", path, calls, tt.want, PageCaller)
			}
			if f := flashOf(t, h, w); f == nil || f.Kind != "ok" {
				t.Errorf("POST %s: flash %+v, want ok", path, f)
			}
		})
	}
}

func TestActions_FlashSaysWhatTheCommandSaid(t *testing.T) {
	fc := &fakeCommands{out: map[string]string{
		"ps:restart": "       web.1 restarted\nRestarted hello (v3)\n\n",
		"config:set": "-----> hello: Set GREETING as v5\n-----> v5 is live\n",
	}}
	h, c := newActionHandler(t, fc, nil)
	for path, want := range map[string]string{
		"restart":    "Restarted hello (v3)",
		"config/set": "Set GREETING: v5 is live",
		"start":      "Started hello", // it printed nothing
	} {
		w := post(h, c, "/apps/hello/"+path, url.Values{"key": {"GREETING"}, "value": {"hi"}})
		if f := flashOf(t, h, w); f == nil || f.Kind != "ok" || f.Message != want {
			t.Errorf("POST %s: flash %+v, want ok %q", path, f, want)
		}
	}
	// The flash shows on the page the redirect leads to, once.
	w := post(h, c, "/apps/hello/restart", nil)
	page := h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c, findCookie(w, flashCookie)}})
	if !strings.Contains(page.Body.String(), `<p class="flash ok" role="status">Restarted hello (v3)</p>`) {
		t.Errorf("the app page does not show the flash")
	}
}

func TestActions_ShowTheCommandsOwnError(t *testing.T) {
	fc := &fakeCommands{errs: map[string]error{
		"ps:scale":    slipway.Errorf(slipway.EINVALID, "web=-1: use 1 to 32"),
		"domains:add": slipway.Errorf(slipway.EINVALID, `"bad..name": not a domain name`),
		"ps:restart":  slipway.Errorf(slipway.ECONFLICT, "hello has no live release: push first"),
	}}
	h, c := newActionHandler(t, fc, nil)
	for _, tt := range []struct {
		path string
		form url.Values
		want string
		runs bool
	}{
		{"scale", url.Values{"scale.web": {"-1"}}, "web=-1: use 1 to 32", true},
		{"domains/add", url.Values{"domain": {"bad..name"}}, `"bad..name": not a domain name`, true},
		{"restart", nil, "hello has no live release: push first", true},
		// Checked before the command runs, in config:set's words: a key
		// with "=" would set another key.
		{"config/set", url.Values{"key": {"A=B"}, "value": {"v"}}, `config key "A=B": use upper-case letters`, false},
		{"config/set", url.Values{"key": {""}, "value": {"v"}}, `config key "": use upper-case letters`, false},
		{"config/unset", url.Values{"key": {"lower"}}, `config key "lower": use upper-case letters`, false},
		{"domains/add", url.Values{"domain": {"  "}}, "type the domain to add", false},
		// A word starting with "-" would be a flag ("-h" prints the usage).
		{"domains/add", url.Values{"domain": {"-h"}}, `"-h": a value may not start with "-"`, false},
		{"releases/--help/retire", nil, `"--help": a value may not start with "-"`, false},
	} {
		w := post(h, c, "/apps/hello/"+tt.path, tt.form)
		if w.Code != http.StatusSeeOther {
			t.Errorf("POST %s = %d, want 303", tt.path, w.Code)
		}
		if f := flashOf(t, h, w); f == nil || f.Kind != "error" || !strings.Contains(f.Message, tt.want) {
			t.Errorf("POST %s %v: flash %+v, want the error %q", tt.path, tt.form, f, tt.want)
		}
		if got := len(fc.taken()) > 0; got != tt.runs {
			t.Errorf("POST %s %v: ran a command: %v, want %v", tt.path, tt.form, got, tt.runs)
		}
	}
	// Nothing to change runs nothing.
	w := post(h, c, "/apps/hello/scale", url.Values{"scale.web": {"2"}})
	if f := flashOf(t, h, w); f == nil || f.Kind != "ok" || f.Message != "No change to the scale of hello" || len(fc.taken()) != 0 {
		t.Errorf("an unchanged scale: flash %+v", f)
	}
}

func TestActions_NeedTheCSRFTokenAndAKnownApp(t *testing.T) {
	fc := &fakeCommands{}
	h, c := newActionHandler(t, fc, nil)
	paths := []string{"config/set", "config/unset", "config/reveal", "scale", "restart", "stop", "start",
		"maintenance/on", "maintenance/off", "domains/add", "domains/remove", "releases/v2/retire"}
	form := url.Values{"key": {"GREETING"}, "value": {"x"}, "domain": {"a.example.com"}, "scale.web": {"3"}, "confirm": {"yes"}}
	for _, p := range paths {
		path := "/apps/hello/" + p
		if w := h.do(req{method: http.MethodPost, path: path, form: form, cookies: []*http.Cookie{c}}); w.Code != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token = %d, want 403", path, w.Code)
		}
		bad := url.Values{"csrf": {"forged"}}
		for k, v := range form {
			bad[k] = v
		}
		if w := h.do(req{method: http.MethodPost, path: path, form: bad, cookies: []*http.Cookie{c}}); w.Code != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token = %d, want 403", path, w.Code)
		}
		// Another site's form: refused before the token is looked at.
		cross := req{method: http.MethodPost, path: path, form: url.Values{"csrf": {csrfOf(h, c)}}, cookies: []*http.Cookie{c},
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}
		if w := h.do(cross); w.Code != http.StatusForbidden {
			t.Errorf("cross-site POST %s = %d, want 403", path, w.Code)
		}
		if w := h.do(req{method: http.MethodPost, path: path, form: form}); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("POST %s signed out = %d %s, want the login form", path, w.Code, w.Header().Get("Location"))
		}
		if w := post(h, c, "/apps/nope/"+p, form); w.Code != http.StatusNotFound {
			t.Errorf("POST %s of an unknown app = %d, want 404", p, w.Code)
		}
		if w := post(h, c, "/apps/No_Such/"+p, form); w.Code != http.StatusBadRequest {
			t.Errorf("POST %s of a bad app name = %d, want 400", p, w.Code)
		}
	}
	if calls := fc.taken(); len(calls) != 0 {
		t.Errorf("refused POSTs ran %v", calls)
	}
	// Without Commands the routes answer 404 and the page has no forms.
	h2 := newTestHandler(t, newFakeBackend())
	c2 := signIn(t, h2)
	if w := post(h2, c2, "/apps/hello/restart", nil); w.Code != http.StatusNotFound {
		t.Errorf("POST restart without Commands = %d, want 404", w.Code)
	}
	if body := h2.do(req{path: "/apps/hello", cookies: []*http.Cookie{c2}}).Body.String(); strings.Contains(body, `action="/apps/hello/restart"`) {
		t.Errorf("the page offers actions without Commands")
	}
}

func TestActions_NeverShowOrLogAConfigValue(t *testing.T) {
	const secret = "hunter2-secret-value"
	fc := &fakeCommands{out: map[string]string{"config:set": "set to " + secret + "\n"}}
	var logs bytes.Buffer
	h, c := newActionHandler(t, fc, &logs)
	w := post(h, c, "/apps/hello/config/set", url.Values{"key": {"GREETING"}, "value": {secret}})
	if f := flashOf(t, h, w); f == nil || f.Message != "Set GREETING on hello" {
		t.Errorf("flash %+v, want the action without the output that holds the value", f)
	}
	fc.errs = map[string]error{"config:set": slipway.Errorf(slipway.EINVALID, "cannot use %q", secret)}
	w = post(h, c, "/apps/hello/config/set", url.Values{"key": {"GREETING"}, "value": {secret}})
	if f := flashOf(t, h, w); f == nil || f.Kind != "error" || strings.Contains(f.Message, secret) || !strings.Contains(f.Message, "cannot use") {
		t.Errorf("flash %+v, want the error with the value masked", f)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log shows the value:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "command=config:set") {
		t.Errorf("the log does not say what ran:\n%s", logs.String())
	}
}

func TestRevealConfig_OnlyOnPurpose(t *testing.T) {
	fc := &fakeCommands{values: map[string]string{"DATABASE_URL": "postgres://u:pw@db/x", "SECRET_KEY": "<s3cr3t>"}}
	var logs bytes.Buffer
	h, c := newActionHandler(t, fc, &logs)
	page := h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c}}).Body.String()
	if strings.Contains(page, "pw@db") || strings.Contains(page, "s3cr3t") || len(fc.taken()) != 0 {
		t.Fatalf("the app page shows a value before it is revealed")
	}
	for _, want := range []string{`action="/apps/hello/config/reveal"`, `name="key" value="SECRET_KEY"`, `action="/apps/hello/config/unset"`,
		`action="/apps/hello/config/set"`, `<textarea name="value"`, `spellcheck="false"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the app page lacks %q", want)
		}
	}
	if w := h.do(req{path: "/apps/hello/config/reveal", cookies: []*http.Cookie{c}}); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET reveal = %d, want 405", w.Code)
	}

	w := post(h, c, "/apps/hello/config/reveal", nil)
	body := w.Body.String()
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("POST reveal = %d, Cache-Control %q; want 200, no-store", w.Code, w.Header().Get("Cache-Control"))
	}
	for _, want := range []string{`<code class="value">postgres://u:pw@db/x</code>`, `<code class="value">&lt;s3cr3t&gt;</code>`, `data-revealed`, `href="/apps/hello">Hide values</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the revealed page lacks %q", want)
		}
	}
	calls := fc.taken()
	if len(calls) != 2 || calls[0].String() != "config:get hello DATABASE_URL by "+PageCaller || calls[1].String() != "config:get hello SECRET_KEY by "+PageCaller {
		t.Errorf("reveal ran %q, want config:get of each key", calls)
	}
	if strings.Contains(logs.String(), "pw@db") || !strings.Contains(logs.String(), `keys="DATABASE_URL SECRET_KEY"`) {
		t.Errorf("the log: want the keys revealed, never a value:\n%s", logs.String())
	}

	// One key alone.
	body = post(h, c, "/apps/hello/config/reveal", url.Values{"key": {"SECRET_KEY"}}).Body.String()
	if !strings.Contains(body, "&lt;s3cr3t&gt;") || strings.Contains(body, "pw@db") {
		t.Errorf("revealing SECRET_KEY shows the wrong values")
	}
	if calls := fc.taken(); len(calls) != 1 || calls[0].Args[1] != "SECRET_KEY" {
		t.Errorf("reveal of one key ran %q", calls)
	}
	w = post(h, c, "/apps/hello/config/reveal", url.Values{"key": {"NOPE"}})
	if f := flashOf(t, h, w); w.Code != http.StatusSeeOther || f == nil || f.Message != `hello has no config var "NOPE"` {
		t.Errorf("revealing an unknown key = %d, flash %+v", w.Code, f)
	}
}

func TestAppPage_ActionForms(t *testing.T) {
	h, c := newActionHandler(t, &fakeCommands{}, nil)
	body := h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c}}).Body.String()
	csrf := `<input type="hidden" name="csrf" value="` + csrfOf(h, c) + `">`
	for _, action := range []string{"scale", "restart", "stop", "maintenance/off", "config/set", "config/unset", "config/reveal",
		"domains/add", "domains/remove", "releases/v2/retire"} {
		form := ` action="/apps/hello/` + action + `"`
		i := strings.Index(body, form)
		if i < 0 {
			t.Errorf("the app page has no form for %s", action)
			continue
		}
		if end := strings.Index(body[i:], "</form>"); !strings.Contains(body[i:i+end], csrf) {
			t.Errorf("the %s form lacks the CSRF token", action)
		}
	}
	for _, want := range []string{
		`<input type="number" name="scale.web" value="2" min="0" required>`,
		`<li data-domain="www.example.com"><code>www.example.com</code>`,
		`<li data-key="SECRET_KEY"><code>SECRET_KEY</code> <span class="masked"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the app page lacks %q", want)
		}
	}
	// In maintenance and running: no Start, no Maintenance on.
	for _, unwanted := range []string{`action="/apps/hello/start"`, `action="/apps/hello/maintenance/on"`} {
		if strings.Contains(body, unwanted) {
			t.Errorf("the app page has %q", unwanted)
		}
	}
}

func TestScaleTypes_WebFirstWithTheCountsKept(t *testing.T) {
	d := &AppDetail{
		Processes: []Process{{ID: "worker.1", Live: true}, {ID: "web.1", Live: true}, {ID: "web.2", Live: true}, {ID: "web.1"}, {ID: "clock.1", Live: true}},
		Scale:     map[string]int{"mailer": 0, "web": 3},
	}
	got := fmt.Sprint(scaleTypes(d))
	if want := "[{web 3} {clock 1} {mailer 0} {worker 1}]"; got != want {
		t.Errorf("scaleTypes = %s, want %s", got, want)
	}
}
