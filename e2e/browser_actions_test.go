package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// An operator changes an app from its page in Chromium, each change
// through the same command as over ssh: sets a config var (whose value
// the page shows only when revealed) and unsets it, scales the worker,
// restarts, adds and removes a domain, stops and starts the app, puts it
// in maintenance and out again with JavaScript off, and retires a
// draining release; the destructive ones ask first, and the activity list
// says the page did each. Screenshots at 1280 and 1600 px.
func TestPage_ActionsInABrowser(t *testing.T) {
	const token = "test-token-0123456789abcdef0123456789"
	const secret = "page-secret-value-4711"
	s := startServer(t, "--admin-token", token)
	app := staticApp("v1")
	app["Procfile"] += "worker: exec sleep 4747\n"
	dir := s.newApp(app)
	s.mustGit(dir, "push", s.remote("shop"), "main")

	b := newBrowser(t)
	base := "http://" + s.admin()
	b.do("sign in",
		chromedp.Navigate(base+"/apps/shop"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`#running .actions form.scale`)),
	)
	if got := eval[[]string](b, `[...document.querySelectorAll('form.scale label')].map(l => l.dataset.type + "=" + l.querySelector('input').value)`); strings.Join(got, " ") != "web=1 worker=1" {
		t.Errorf("the scale form = %q, want web=1 worker=1", got)
	}

	// Set a config var: the app gets it, the page never shows it unasked.
	b.act("set GREETING", `(f => { f.elements.key.value = "GREETING"; f.elements.value.value = "`+secret+`"; f.querySelector("button").click(); })(document.querySelector("form.config-set"))`)
	b.wantFlash("ok", "Set GREETING: v2 is live")
	if got := strings.TrimSpace(s.mustSSH("config:get", "shop", "GREETING")); got != secret {
		t.Errorf("config:get GREETING = %q, want the value set on the page", got)
	}
	if b.html(secret) {
		t.Errorf("the page shows the value before it is revealed")
	}
	b.act("reveal GREETING", click(`li[data-key="GREETING"] form[action$="/config/reveal"] button`))
	if got := b.text(`li[data-key="GREETING"] code.value`); got != secret {
		t.Errorf("the revealed value = %q, want %q", got, secret)
	}
	b.act("hide the values", click(`.section-head a[href="/apps/shop"]`))
	if b.html(secret) {
		t.Errorf("the page shows the value after Hide values")
	}
	b.act("set LOG_LEVEL", `(f => { f.elements.key.value = "LOG_LEVEL"; f.elements.value.value = "info"; f.querySelector("button").click(); })(document.querySelector("form.config-set"))`)
	b.wantFlash("ok", "Set LOG_LEVEL: v3 is live")

	// Unset it: the page asks first.
	b.act("unset GREETING", click(`li[data-key="GREETING"] form[action$="/config/unset"] button`))
	b.wantConfirm("Unset GREETING on shop?")
	b.wantFlash("ok", "Unset GREETING: v4 is live")
	if out, err := s.ssh(s.key, "config:get", "shop", "GREETING"); err == nil {
		t.Errorf("config:get GREETING after the unset: %s", out)
	}

	// Scale the worker to 2.
	b.act("scale worker to 2", `(f => { f.elements["scale.worker"].value = "2"; f.querySelector("button").click(); })(document.querySelector("form.scale"))`)
	b.wantFlash("ok", "Scaled shop to worker=2 (v4)")
	if ps := s.mustSSH("ps", "shop"); !strings.Contains(ps, "worker.2") {
		t.Errorf("ps after scaling worker to 2:\n%s", ps)
	}
	if n := s.countRunning("sleep 4747"); n != 2 {
		t.Errorf("%d workers run, want 2", n)
	}

	b.act("restart", click(`form[action$="/restart"] button`))
	b.wantFlash("ok", "Restarted shop (v4)")
	s.wantServes("shop", "/", "hello from v1")

	// A domain of its own, added and removed.
	b.act("add a domain", `(f => { f.elements.domain.value = "www.page.test"; f.querySelector("button").click(); })(document.querySelector("form.domain-add"))`)
	b.wantFlash("ok", "Added www.page.test to shop")
	if code, body := s.getHost("www.page.test", "/"); code != http.StatusOK || !strings.Contains(body, "hello from v1") {
		t.Errorf("GET www.page.test = %d %q, want the app", code, body)
	}
	b.act("remove the domain", click(`li[data-domain="www.page.test"] button`))
	b.wantConfirm("Remove www.page.test from shop?")
	b.wantFlash("ok", "Removed www.page.test from shop")
	if code, _ := s.getHost("www.page.test", "/"); code != http.StatusNotFound {
		t.Errorf("GET www.page.test after its removal = %d, want 404", code)
	}
	b.act("add the domain to keep", `(f => { f.elements.domain.value = "shop.example.org"; f.querySelector("button").click(); })(document.querySelector("form.domain-add"))`)

	// Stop, and Cancel first: nothing stops.
	b.act("stop", click(`form[action$="/stop"] button`))
	b.act("cancel the stop", click(`.confirm a.cancel`))
	s.wantServes("shop", "/", "hello from v1")
	b.act("stop", click(`form[action$="/stop"] button`))
	b.screenshot("app-page-confirm.png")
	b.wantConfirm("Stop shop?")
	b.wantFlash("ok", "Stopped shop: every process ended; ps:start shop runs the live release again")
	if code, _ := s.get("shop", "/"); code != http.StatusServiceUnavailable {
		t.Errorf("a stopped app answers %d, want 503", code)
	}
	if n := s.countRunning("sleep 4747"); n != 0 {
		t.Errorf("%d workers run after Stop", n)
	}
	b.act("start", click(`form[action$="/start"] button`))
	b.wantFlash("ok", "Started shop: v4 is live")
	s.wantServes("shop", "/", "hello from v1")

	// Maintenance on and off with JavaScript off: the confirmation is the
	// server's.
	b.scripts(false)
	b.act("reload without JavaScript", chromedp.Reload())
	b.act("maintenance on", chromedp.Click(chromedp.CSS(`form[action$="/maintenance/on"] button`)))
	b.wantConfirmByClick("Put shop in maintenance?")
	b.wantFlash("ok", "shop is in maintenance: every request gets 503 (a maintenance.html in the app's root would be shown); the app keeps running")
	if code, _ := s.get("shop", "/"); code != http.StatusServiceUnavailable {
		t.Errorf("in maintenance the app answers %d, want 503", code)
	}
	b.act("maintenance off", chromedp.Click(chromedp.CSS(`form[action$="/maintenance/off"] button`)))
	b.wantFlash("ok", "shop is out of maintenance: the router serves it again")
	s.wantServes("shop", "/", "hello from v1")
	b.scripts(true)

	// A second push while a client is pinned to v4: v4 drains, and is
	// retired from the page.
	pinned := newClient(t)
	s.release(pinned, "shop")
	app["index.html"] = "<h1>hello from v2</h1>\n"
	s.commit(dir, "v2", app)
	s.mustGit(dir, "push", s.remote("shop"), "main")
	if got := s.release(pinned, "shop"); got != "v1" {
		t.Fatalf("the pinned client left v4: it sees %s", got)
	}
	b.act("reload", chromedp.Reload())
	if got := eval[string](b, `[...document.querySelectorAll('table.draining tr[data-release]')].map(r => r.dataset.release).join(" ")`); got != "v4" {
		t.Fatalf("draining releases on the page = %q, want v4", got)
	}
	for _, width := range []int64{1280, 1600} {
		b.do("size the window", chromedp.EmulateViewport(width, 900))
		if !eval[bool](b, `document.documentElement.scrollWidth <= document.documentElement.clientWidth`) {
			t.Errorf("at %d px the app page scrolls sideways", width)
		}
		b.screenshot("app-page-actions-" + strconv.FormatInt(width, 10) + ".png")
	}
	b.act("retire v4", click(`table.draining tr[data-release="v4"] button`))
	b.wantConfirm("Retire v4 of shop now?")
	b.wantFlash("ok", "Retiring v4 of shop: its sessions move to the live release")
	waitFor(t, "v4's processes to stop", func() bool { return !strings.Contains(s.mustSSH("ps", "shop"), "v4") })
	if got := s.release(pinned, "shop"); got != "v2" {
		t.Errorf("the pinned client sees %s after v4 retired, want v2", got)
	}

	// The activity list says the page did each.
	b.act("reload", chromedp.Reload())
	activity := eval[[]string](b, `[...document.querySelectorAll('ol.activity li')].map(li => li.querySelector('.by').textContent + ": " + li.querySelector('.what').textContent)`)
	text := strings.Join(activity, "\n")
	for _, want := range []string{
		"config release v2: added GREETING", "config release v3: added LOG_LEVEL", "config release v4: removed GREETING",
		"scaled worker=2", "restarted every process", "domains: added www.page.test", "domains: removed www.page.test",
		"stopped the app", "started the app", "maintenance on", "maintenance off", "retired v4 by hand",
	} {
		if !regexp.MustCompile(`(?m)^admin \(page\): ` + regexp.QuoteMeta(want)).MatchString(text) {
			t.Errorf("the activity list lacks %q by admin (page):\n%s", want, text)
		}
	}
	if b.html(secret) {
		t.Errorf("the page shows the config value")
	}
}

// act runs a step that leads to a new page (a click on a form's button,
// a link, a reload) and waits for that page, which must answer 200. It
// accepts a step, or JavaScript for chromedp.Evaluate: a button is
// clicked from the page's own script so that app.js swapping a section
// between finding the button and clicking it cannot make the click miss.
func (b *browser) act(what string, step any) {
	b.t.Helper()
	var a chromedp.Action[chromedp.Void]
	switch s := step.(type) {
	case string:
		a = chromedp.Evaluate[chromedp.Void](s)
	case chromedp.Action[chromedp.Void]:
		a = s
	}
	// A config release deploys before the page comes back.
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Minute)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		b.t.Fatalf("browser: %s: the page answered %v", what, resp)
	}
}

// scripts turns the page's JavaScript on or off.
func (b *browser) scripts(on bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
		b.t.Fatalf("browser: JavaScript on=%v: %v", on, err)
	}
}

// click is JavaScript that clicks the element css selects.
func click(css string) string {
	return `document.querySelector(` + strconv.Quote(css) + `).click()`
}

// wantConfirm checks the confirmation page asks question, and confirms.
func (b *browser) wantConfirm(question string) {
	b.t.Helper()
	if got := b.text(`.confirm h2`); got != question {
		b.t.Fatalf("the confirmation asks %q, want %q", got, question)
	}
	b.act("confirm: "+question, click(`.confirm button[type=submit]`))
}

// wantConfirmByClick is wantConfirm with a mouse click, for a page
// without JavaScript.
func (b *browser) wantConfirmByClick(question string) {
	b.t.Helper()
	if got := b.text(`.confirm h2`); got != question {
		b.t.Fatalf("the confirmation asks %q, want %q", got, question)
	}
	b.act("confirm: "+question, chromedp.Click(chromedp.CSS(`.confirm button[type=submit]`)))
}

// wantFlash checks the flash message of the page.
func (b *browser) wantFlash(kind, msg string) {
	b.t.Helper()
	got := eval[string](b, `(f => f ? f.className + ": " + f.textContent : "none")(document.querySelector(".flash"))`)
	if want := "flash " + kind + ": " + msg; got != want {
		b.t.Errorf("flash = %q, want %q", got, want)
	}
}

// html reports whether the page's HTML holds s.
func (b *browser) html(s string) bool {
	b.t.Helper()
	return strings.Contains(eval[string](b, `document.documentElement.outerHTML`), s)
}
