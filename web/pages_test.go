package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

// row returns the <tr> of version v in a history page.
func row(t *testing.T, page string, v int) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr data-version="` + strconv.Itoa(v) + `".*?</tr>`).FindString(page)
	if m == "" {
		t.Fatalf("no row for v%d in\n%s", v, page)
	}
	return m
}

func TestHistoryPage_EscapesSubject(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{path: "/apps/hello", bearer: testToken})
	body := w.Body.String()
	if strings.Contains(body, "<script>alert") {
		t.Fatalf("the subject's <script> reached the page unescaped:\n%s", body)
	}
	if !strings.Contains(row(t, body, 3), "&lt;script&gt;alert(1)&lt;/script&gt; v3") {
		t.Errorf("v3's row does not show the subject as text:\n%s", row(t, body, 3))
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("the page has an inline <script>")
	}
}

func TestHistoryPage_RowsStatesAndRollbackButtons(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	c := signIn(t, h)
	w := h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c}})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /apps/hello = %d", w.Code)
	}
	body := w.Body.String()
	if !strings.Contains(body, `data-state="4:failed,3:live,2:draining,1:retired:pruned"`) {
		t.Errorf("the history section lacks the data-state app.js compares")
	}
	tests := []struct {
		v        int
		want     []string
		rollback bool
	}{
		{4, []string{`class="badge failed"`, ">failed<", "build failed: exit status 1"}, false},
		{3, []string{`class="is-live"`, `class="badge live"`, ">live<", ">c0ffee3<"}, false},
		{2, []string{`class="badge draining"`, ">draining<", "second version", "8m ago", "1.5s", ">push<"}, true},
		{1, []string{`class="badge retired"`, `class="badge pruned"`, ">pruned<"}, false},
	}
	for _, tt := range tests {
		r := row(t, body, tt.v)
		for _, want := range tt.want {
			if !strings.Contains(r, want) {
				t.Errorf("v%d row lacks %q:\n%s", tt.v, want, r)
			}
		}
		if !strings.Contains(r, `title="SHA256:Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0">ada@laptop<`) {
			t.Errorf("v%d row: want the pusher's comment with the fingerprint as title:\n%s", tt.v, r)
		}
		if got := strings.Contains(r, "Rollback to this release"); got != tt.rollback {
			t.Errorf("v%d row has a rollback button: %v, want %v", tt.v, got, tt.rollback)
		}
	}
	r2 := row(t, body, 2)
	for _, want := range []string{`action="/apps/hello/rollback"`, `name="version" value="2"`, `name="csrf" value="` + csrfOf(h, c) + `"`, `data-confirm=`} {
		if !strings.Contains(r2, want) {
			t.Errorf("v2's rollback form lacks %q:\n%s", want, r2)
		}
	}
	if !strings.Contains(body, `action="/logout"`) {
		t.Errorf("a signed-in page has no log-out form")
	}
}

func TestRollbackForm_CallsBackendAndRedirects(t *testing.T) {
	fb := newFakeBackend()
	h := newTestHandler(t, fb)
	c := signIn(t, h)
	w := h.do(req{method: http.MethodPost, path: "/apps/hello/rollback",
		form: url.Values{"version": {"2"}, "csrf": {csrfOf(h, c)}}, cookies: []*http.Cookie{c}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/apps/hello" {
		t.Fatalf("POST rollback = %d to %q, want 303 to /apps/hello\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if calls := fb.calls(); len(calls) != 1 || calls[0] != (rollbackCall{App: "hello", To: 2, By: PageCaller}) {
		t.Fatalf("backend rollbacks = %+v, want one to v2 by admin", calls)
	}
	flashC := findCookie(w, flashCookie)
	if flashC == nil {
		t.Fatal("no flash cookie after the rollback")
	}
	w = h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c, flashC}})
	body := w.Body.String()
	if !strings.Contains(body, `class="flash ok"`) || !strings.Contains(body, "Rolled back to v2: v5 is live.") {
		t.Errorf("the page after the rollback lacks the message:\n%s", body)
	}
	if !strings.Contains(row(t, body, 5), "Rollback to v2") || !strings.Contains(row(t, body, 5), `class="is-live"`) {
		t.Errorf("v5 is not the live rollback:\n%s", row(t, body, 5))
	}
	if cleared := findCookie(w, flashCookie); cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("the flash cookie was not cleared: %+v", cleared)
	}
}

func TestRollbackForm_ShowsError(t *testing.T) {
	fb := newFakeBackend()
	h := newTestHandler(t, fb)
	c := signIn(t, h)
	// v1 is pruned: the backend refuses.
	w := h.do(req{method: http.MethodPost, path: "/apps/hello/rollback",
		form: url.Values{"version": {"v1"}, "csrf": {csrfOf(h, c)}}, cookies: []*http.Cookie{c}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST rollback = %d, want 303", w.Code)
	}
	w = h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c, findCookie(w, flashCookie)}})
	if body := w.Body.String(); !strings.Contains(body, `class="flash error"`) || !strings.Contains(body, "Rollback failed: cannot roll back to v1") {
		t.Errorf("the page lacks the refusal:\n%s", body)
	}
}

func TestRollbackForm_FlashIsSigned(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	forged := &http.Cookie{Name: flashCookie, Value: "b2sKWW91ciB0b2tlbiBleHBpcmVk.AAAA"}
	body := h.do(req{path: "/apps/hello", bearer: testToken, cookies: []*http.Cookie{forged}}).Body.String()
	if strings.Contains(body, "flash") {
		t.Errorf("a forged flash cookie was shown:\n%s", body)
	}
}

func TestReleasePage_EscapesLog(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	for _, path := range []string{"/apps/hello/releases/v3", "/apps/hello/releases/3"} {
		w := h.do(req{path: path, bearer: testToken})
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s = %d\n%s", path, w.Code, body)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("GET %s: a <script> from the log or subject is unescaped:\n%s", path, body)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;") {
			t.Errorf("GET %s: the log is not shown as text:\n%s", path, body)
		}
	}
	// A release without a log still has a page.
	w := h.do(req{path: "/apps/hello/releases/v2", bearer: testToken})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "no build log for hello v2") {
		t.Errorf("GET v2 without a log = %d\n%s", w.Code, w.Body)
	}
}

func TestPages_NotFound(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	for path, want := range map[string]int{
		"/apps/nope":               http.StatusNotFound,
		"/apps/hello/releases/v9":  http.StatusNotFound,
		"/apps/hello/releases/vx":  http.StatusBadRequest,
		"/apps/Bad_Name":           http.StatusBadRequest,
		"/apps/hello/releases/v-1": http.StatusBadRequest,
	} {
		w := h.do(req{path: path, bearer: testToken})
		if w.Code != want || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
			t.Errorf("GET %s = %d %s, want %d HTML", path, w.Code, w.Header().Get("Content-Type"), want)
		}
	}
}

func TestAppsPage(t *testing.T) {
	fb := newFakeBackend()
	fb.apps = append(fb.apps, AppSummary{Name: "quiet", State: "stopped"})
	h := newTestHandler(t, fb)
	body := h.do(req{path: "/", bearer: testToken}).Body.String()
	for _, want := range []string{
		`href="/apps/hello"`, `class="badge live"`, ">v3<", "1 draining", "3m ago",
		`href="http://hello.example.test:8080/"`, `href="http://quiet.example.test/"`, `data-state="hello:3:2:1::0:false:,quiet:0:0:0::0:false:stopped"`,
		`<th>State</th>`, `<span class="badge retired">stopped</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the apps page lacks %q:\n%s", want, body)
		}
	}
}

func TestStatic(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	for path, ctype := range map[string]string{"/static/app.js": "javascript", "/static/style.css": "text/css", "/static/favicon.svg": "image/svg+xml"} {
		w := h.do(req{path: path})
		if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), ctype) {
			t.Errorf("GET %s = %d %s", path, w.Code, w.Header().Get("Content-Type"))
		}
	}
	if w := h.do(req{path: "/static/"}); w.Code != http.StatusNotFound {
		t.Errorf("GET /static/ = %d, want 404 (no listing)", w.Code)
	}
	if !strings.Contains(h.do(req{path: "/login"}).Body.String(), staticURL("app.js")) {
		t.Errorf("the layout does not load %s", staticURL("app.js"))
	}
}

func TestReleasePage_FollowsABuild(t *testing.T) {
	fb := newFakeBackend()
	fb.releases["hello"] = append([]*slipway.Release{{App: "hello", Version: 5, Kind: slipway.KindPush, Status: slipway.StatusBuilding}}, fb.releases["hello"]...)
	fb.logs["hello/v5"] = ""
	h := newTestHandler(t, fb)
	body := h.do(req{path: "/apps/hello/releases/v5", bearer: testToken}).Body.String()
	if !strings.Contains(body, `<pre id="log" class="log" data-follow="/api/apps/hello/releases/v5">`) {
		t.Errorf("a building release's log is not followed:\n%s", body)
	}
	body = h.do(req{path: "/apps/hello/releases/v3", bearer: testToken}).Body.String()
	if strings.Contains(body, "data-follow") {
		t.Errorf("a live release's log is followed")
	}
}
