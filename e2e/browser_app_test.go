package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The app page shows the running system: processes, the draining release
// with its pinned session, domains, config keys (never a value) with the
// pending one, the end of the app log, and an activity list with who did
// what; a deploy's log shows up live while it builds, and the Rollback
// button is whole at 1280 and 1600 px.
func TestBrowser_AppPage(t *testing.T) {
	const token = "test-token-0123456789abcdef0123456789"
	s := startServer(t, "--admin-token", token)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("shop"), "main")
	pinned := newClient(t)
	if got := s.release(pinned, "shop"); got != "v1" {
		t.Fatalf("pinned session on %s", got)
	}
	s.mustSSH("config:set", "shop", "SECRET=hunter2-secret-value")
	s.mustSSH("config:set", "--no-restart", "shop", "PENDING=later")
	s.mustSSH("ps:scale", "shop", "web=2")
	s.mustSSH("domains:add", "shop", "www.shop.test")
	s.mustSSH("maintenance:on", "shop")
	s.mustSSH("maintenance:off", "shop")
	created := s.mustSSH("apps:create", "fresh")
	if got := s.release(pinned, "shop"); got != "v1" {
		t.Fatalf("the pinned session left v1: %s", got)
	}
	s.wantServes("shop", "/", "hello from v1") // a new client, on v2: a line in the log

	b := newBrowser(t)
	base := "http://" + s.admin()
	b.do("sign in",
		chromedp.Navigate(base+"/apps/shop"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`#running table.processes`)),
	)
	procs := eval[[]string](b, `[...document.querySelectorAll('#running tr[data-process]')].map(r => r.dataset.process + " " + r.dataset.release + " " + r.dataset.state)`)
	if want := "web.1 v2 up,web.2 v2 up,web.1 v1 up"; strings.Join(procs, ",") != want {
		t.Errorf("processes = %q, want %q", procs, want)
	}
	if got := strings.TrimSpace(b.text(`table.draining tr[data-release="v1"] td.sessions`)); got != "1" {
		t.Errorf("v1's pinned sessions = %q, want 1", got)
	}
	if got := b.text(`#running .domains`); !strings.Contains(got, "www.shop.test") {
		t.Errorf("domains = %q", got)
	}
	// What each row says, without its Reveal and Unset buttons.
	keys := eval[[]string](b, `[...document.querySelectorAll('ul.config li')].map(li => [...li.childNodes].filter(n => !n.matches || !n.matches('.row-actions')).map(n => n.textContent).join('').trim())`)
	if strings.Join(keys, "|") != "PENDING •••••• pending|SECRET ••••••" {
		t.Errorf("config = %q, want PENDING pending and SECRET live, values hidden", keys)
	}
	if html := eval[string](b, `document.documentElement.outerHTML`); strings.Contains(html, "hunter2-secret-value") {
		t.Errorf("the page shows a config value")
	}
	if got := b.text(`pre.app-log`); !strings.Contains(got, `"GET / HTTP/1.1" 200`) {
		t.Errorf("the app log shown = %q, want the request line", got)
	}
	activity := strings.Join(eval[[]string](b, `[...document.querySelectorAll('ol.activity li')].map(li => li.textContent.trim())`), "\n")
	for _, want := range []string{
		"maintenance off", "maintenance on", "domains: added www.shop.test", "scaled web=2",
		"config: Set PENDING (pending: takes effect with the next release)",
		"config release v2: added SECRET", "pushed",
	} {
		if !strings.Contains(activity, want) {
			t.Errorf("the activity list lacks %q:\n%s", want, activity)
		}
	}
	if i, j := strings.Index(activity, "maintenance off"), strings.Index(activity, "config release v2"); i < 0 || j < 0 || i > j {
		t.Errorf("the activity list is not newest first:\n%s", activity)
	}
	if got := b.text(`tr[data-version="2"] td.kind`); !strings.Contains(got, "added SECRET") {
		t.Errorf("v2's kind cell = %q, want what the config release changed", got)
	}

	// The Rollback button of v1 is whole, without sideways scrolling, at
	// 1280 and 1600 px.
	for _, width := range []int64{1280, 1600} {
		b.do("size the window", chromedp.EmulateViewport(width, 900))
		fits := eval[bool](b, `(() => {
			const sc = document.querySelector('#history .scroll'), btn = document.querySelector('#history tr[data-version="1"] button');
			if (!sc || !btn) return false;
			const s = sc.getBoundingClientRect(), r = btn.getBoundingClientRect();
			return sc.scrollWidth <= sc.clientWidth && r.left >= s.left && r.right <= s.right && r.right <= document.documentElement.clientWidth;
		})()`)
		if !fits {
			t.Errorf("at %d px the Rollback button is clipped or the history scrolls sideways", width)
		}
		b.screenshot("browser-app-" + map[int64]string{1280: "1280", 1600: "1600"}[width] + ".png")
	}

	// A push while the page is open: its log shows up live, then the
	// history shows it live.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	app := staticApp("v3")
	app["app.json"] = `{"scripts": {"build": "echo compiling-assets; sleep 6; echo assets-$((1+1))"}}`
	s.commit(dir, "slow build", app)
	pushed := make(chan string, 1)
	go func() {
		out, err := s.git(dir, "push", s.remote("shop"), "main")
		if err != nil {
			out += "\n" + err.Error()
		}
		pushed <- out
	}()
	b.do("see the deploy log live", chromedp.WaitVisible(chromedp.CSS(`#deploy-log`)))
	waitFor(t, "the build's output on the page", func() bool {
		return strings.Contains(b.text(`#deploy-log`), "compiling-assets")
	})
	if got := b.text(`#deploy-log`); strings.Contains(got, "assets-2") {
		t.Errorf("the deploy log was not seen before the build ended: %q", got)
	}
	if out := <-pushed; !strings.Contains(out, "v3 is live") {
		t.Fatalf("the push:\n%s", out)
	}
	b.do("wait for v3 live", chromedp.WaitVisible(chromedp.CSS(`tr[data-version="3"][data-status="live"]`)))
	if eval[bool](b, `!!document.getElementById('deploy-log')`) {
		t.Errorf("the deploy log is still shown after the deploy")
	}
	if !eval[bool](b, `window.notReloaded === true`) {
		t.Errorf("the page reloaded to follow the deploy; want in-place updates")
	}

	// An app with no release says how to push to it.
	b.do("open the new app", chromedp.Navigate(base+"/apps/fresh"), chromedp.WaitVisible(chromedp.CSS(`.push-help pre`)))
	remote := strings.Fields(b.text(`.push-help pre`))
	if len(remote) != 9 || strings.Join(remote[:4], " ") != "git remote add deploy" || !strings.Contains(created, remote[4]) ||
		!strings.HasSuffix(remote[4], "/fresh") || strings.Join(remote[5:], " ") != "git push deploy main" {
		t.Errorf("the push help = %q, want the remote apps:create printed:\n%s", remote, created)
	}
}
