package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// A person signs in to the admin page, reads the history (where a commit
// subject that is a script stays text), rolls back with the button, and
// watches the page follow a rollback made elsewhere without reloading.
func TestBrowser_HistoryAndRollback(t *testing.T) {
	const token = "test-token-0123456789abcdef0123456789"
	s := startServer(t, "--admin-token", token)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("shop"))
	s.mustGit(dir, "push", "deploy", "main")
	s.commit(dir, "<script>alert(1)</script> v2", staticApp("v2"))
	s.mustGit(dir, "push", "deploy", "main")
	s.wantServes("shop", "/", "hello from v2")

	b := newBrowser(t)
	base := "http://" + s.admin()

	// Not signed in: the history page sends the browser to the login form.
	b.do("open the history page", chromedp.Navigate(base+"/apps/shop"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := eval[string](b, "location.pathname + location.search"); loc != "/login?next=%2Fapps%2Fshop" {
		t.Errorf("unauthenticated history page landed on %q, want the login form with next", loc)
	}
	b.do("sign in",
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`#history table`)),
	)
	if path := eval[string](b, "location.pathname"); path != "/apps/shop" {
		t.Errorf("after signing in the browser is at %q, want /apps/shop", path)
	}

	if got := eval[string](b, `document.querySelector('tr[data-version="2"]').dataset.status`); got != "live" {
		t.Errorf("v2 status = %q, want live", got)
	}
	if got := eval[int](b, `document.querySelectorAll('#history tbody tr').length`); got != 2 {
		t.Errorf("history rows = %d, want 2", got)
	}
	if got := b.text(`tr[data-version="2"] td.subject`); !strings.Contains(got, "<script>alert(1)</script> v2") {
		t.Errorf("v2 subject = %q, want the script tag as text", got)
	}
	if got := eval[int](b, `document.querySelectorAll('td.subject script').length`); got != 0 {
		t.Errorf("the subject became %d script element(s)", got)
	}
	if got := b.text(`tr[data-version="2"] td.kind`); got != "push" {
		t.Errorf("v2 kind = %q, want push", got)
	}
	if eval[bool](b, `!!document.querySelector('tr[data-version="2"] button')`) {
		t.Errorf("the live release offers a rollback")
	}
	// Short, so that the full-page shot is as tall as the page.
	b.do("size the window for the screenshot", chromedp.EmulateViewport(1200, 320))
	b.screenshot("browser-history.png")

	// Roll back to v1 with its button; app.js asks first.
	b.do("roll back to v1",
		chromedp.Click(chromedp.CSS(`tr[data-version="1"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-version="3"][data-status="live"]`)),
	)
	if got := b.text(`tr[data-version="3"] td.kind`); got != "Rollback to v1" {
		t.Errorf("v3 kind = %q, want Rollback to v1", got)
	}
	if got := b.text(`.flash`); !strings.Contains(got, "Rolled back to v1: v3 is live.") {
		t.Errorf("flash = %q", got)
	}
	s.wantServes("shop", "/", "hello from v1")
	b.screenshot("browser-history-after-rollback.png")

	// A rollback from elsewhere shows up on the open page without a reload.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	adminPost(t, base+"/api/apps/shop/rollback", token, `{"version": 2}`)
	b.do("wait for v4 on the open page", chromedp.WaitVisible(chromedp.CSS(`tr[data-version="4"][data-status="live"]`)))
	if !eval[bool](b, `window.notReloaded === true`) {
		t.Errorf("the page reloaded to show v4; want an in-place update")
	}
	s.wantServes("shop", "/", "hello from v2")

	var confirms int
	for _, d := range b.seenDialogs() {
		switch d.Type {
		case page.DialogTypeConfirm:
			confirms++
		default:
			t.Errorf("unexpected %s dialog: %q", d.Type, d.Message)
		}
	}
	if confirms != 1 {
		t.Errorf("%d confirm dialogs, want 1 before the rollback", confirms)
	}
}

// adminPost POSTs a JSON body to the admin API with the token.
func adminPost(t *testing.T, url, token, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d %s", url, resp.StatusCode, out)
	}
}
