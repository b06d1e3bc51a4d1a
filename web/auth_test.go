package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAuth_APIWithoutTokenIs401JSON(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	for _, path := range []string{"/api/apps", "/api/apps/hello/releases", "/api/apps/hello/releases/v3/log", "/api/services"} {
		w := h.do(req{path: path})
		if w.Code != http.StatusUnauthorized {
			t.Errorf("GET %s = %d, want 401", path, w.Code)
		}
		if got := w.Header().Get("Content-Type"); got != "application/json" {
			t.Errorf("GET %s Content-Type = %q, want application/json", path, got)
		}
		var body struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" {
			t.Errorf("GET %s body = %q (%v), want {\"error\": ...}", path, w.Body, err)
		}
	}
}

func TestAuth_PageWithoutTokenRedirectsToLogin(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{path: "/apps/hello?x=1"})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("GET /apps/hello = %d, want 303", w.Code)
	}
	if got, want := w.Header().Get("Location"), "/login?next="+url.QueryEscape("/apps/hello?x=1"); got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	// A form POST without a session goes back to its page after signing in.
	w = h.do(req{method: http.MethodPost, path: "/apps/hello/rollback", form: url.Values{"version": {"2"}}})
	if got, want := w.Header().Get("Location"), "/login?next="+url.QueryEscape("/apps/hello"); w.Code != http.StatusSeeOther || got != want {
		t.Errorf("POST rollback without session = %d %q, want 303 %q", w.Code, got, want)
	}
}

func TestAuth_BearerWorksOnPagesAndAPI(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	for _, path := range []string{"/", "/apps/hello", "/apps/hello/releases/v3", "/api/apps", "/api/apps/hello/releases", "/api/services"} {
		if w := h.do(req{path: path, bearer: testToken}); w.Code != http.StatusOK {
			t.Errorf("GET %s with Bearer = %d, want 200\n%s", path, w.Code, w.Body)
		}
	}
}

func TestAuth_WrongBearerIs401(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	good := signIn(t, h)
	for _, path := range []string{"/apps/hello", "/api/apps", "/api/services"} {
		// A wrong token is refused even next to a good cookie.
		w := h.do(req{path: path, bearer: "wrong", cookies: []*http.Cookie{good}})
		if w.Code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong Bearer = %d, want 401", path, w.Code)
		}
		if w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s: 401 without WWW-Authenticate", path)
		}
	}
}

func TestAuth_LoginSetsSessionCookie(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{method: http.MethodPost, path: "/login", form: url.Values{"token": {testToken}, "next": {"/apps/hello"}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/apps/hello" {
		t.Fatalf("POST /login = %d to %q, want 303 to /apps/hello", w.Code, w.Header().Get("Location"))
	}
	c := findCookie(w, sessionCookie)
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie = %+v, want HttpOnly, SameSite=Strict, Path=/, not Secure over http", c)
	}
	if got, want := c.MaxAge, int(sessionTTL/time.Second); got != want {
		t.Errorf("cookie MaxAge = %d, want %d", got, want)
	}
	if strings.Contains(c.Value, testToken) {
		t.Errorf("the cookie carries the token: %q", c.Value)
	}
	if w := h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c}}); w.Code != http.StatusOK {
		t.Errorf("GET /apps/hello with the session = %d, want 200", w.Code)
	}
	if w := h.do(req{path: "/api/apps", cookies: []*http.Cookie{c}}); w.Code != http.StatusOK {
		t.Errorf("GET /api/apps with the session = %d, want 200", w.Code)
	}
	// Signed in, the login form sends the browser on.
	if w := h.do(req{path: "/login?next=/apps/hello", cookies: []*http.Cookie{c}}); w.Code != http.StatusSeeOther {
		t.Errorf("GET /login with a session = %d, want 303", w.Code)
	}
}

func TestAuth_LoginCookieSecureBehindHTTPS(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{method: http.MethodPost, path: "/login", form: url.Values{"token": {testToken}},
		header: map[string]string{"X-Forwarded-Proto": "https"}})
	if c := findCookie(w, sessionCookie); c == nil || !c.Secure {
		t.Errorf("session cookie behind https = %+v, want Secure", c)
	}
}

func TestAuth_BadLoginIs401WithForm(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	for _, token := range []string{"wrong", "", testToken + "x", testToken[:5]} {
		w := h.do(req{method: http.MethodPost, path: "/login", form: url.Values{"token": {token}, "next": {"/apps/hello"}}})
		if w.Code != http.StatusUnauthorized {
			t.Errorf("login with %q = %d, want 401", token, w.Code)
		}
		body := w.Body.String()
		if !strings.Contains(body, "Wrong token.") || !strings.Contains(body, `name="token"`) {
			t.Errorf("login with %q: want the form and a one-line error, got\n%s", token, body)
		}
		if !strings.Contains(body, `name="next" value="/apps/hello"`) {
			t.Errorf("login with %q: the form lost next", token)
		}
		if findCookie(w, sessionCookie) != nil {
			t.Errorf("login with %q set a session cookie", token)
		}
	}
}

func TestAuth_NextMustBeLocal(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	tests := []struct{ next, want string }{
		{"/apps/hello", "/apps/hello"},
		{"/apps/hello?x=1", "/apps/hello?x=1"},
		{"", "/"},
		{"//evil.example", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"evil.example", "/"},
		{"javascript:alert(1)", "/"},
	}
	for _, tt := range tests {
		if got := localPath(tt.next); got != tt.want {
			t.Errorf("localPath(%q) = %q, want %q", tt.next, got, tt.want)
		}
		w := h.do(req{method: http.MethodPost, path: "/login", form: url.Values{"token": {testToken}, "next": {tt.next}}})
		if got := w.Header().Get("Location"); got != tt.want {
			t.Errorf("login with next=%q redirects to %q, want %q", tt.next, got, tt.want)
		}
	}
	// The form does not even carry a foreign next.
	w := h.do(req{path: "/login?next=//evil.example"})
	if strings.Contains(w.Body.String(), "evil.example") {
		t.Errorf("the login form carries next=//evil.example:\n%s", w.Body)
	}
}

func TestAuth_SessionExpiresAfter12h(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	c := signIn(t, h)
	h.now = func() time.Time { return t0.Add(sessionTTL - time.Minute) }
	if w := h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c}}); w.Code != http.StatusOK {
		t.Errorf("session before expiry: GET = %d, want 200", w.Code)
	}
	h.now = func() time.Time { return t0.Add(sessionTTL) }
	if w := h.do(req{path: "/apps/hello", cookies: []*http.Cookie{c}}); w.Code != http.StatusSeeOther {
		t.Errorf("session at expiry: GET = %d, want 303 to the login form", w.Code)
	}
}

func TestAuth_ForgedSessionsRefused(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	c := signIn(t, h)
	other := New(Config{Backend: newFakeBackend(), Token: "another-token", Logger: h.log})
	otherCookie := &http.Cookie{Name: sessionCookie, Value: other.newSession()}
	i := strings.IndexByte(c.Value, '.')
	tampered := "99999999999" + c.Value[i:] // a later expiry under the old MAC
	for _, v := range []string{"", "x", testToken, tampered, otherCookie.Value, c.Value + "x"} {
		if w := h.do(req{path: "/api/apps", cookies: []*http.Cookie{{Name: sessionCookie, Value: v}}}); w.Code != http.StatusUnauthorized {
			t.Errorf("session cookie %q: GET /api/apps = %d, want 401", v, w.Code)
		}
	}
}

func TestAuth_LogoutEndsSession(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	c := signIn(t, h)
	w := h.do(req{method: http.MethodPost, path: "/logout", form: url.Values{"csrf": {csrfOf(h, c)}}, cookies: []*http.Cookie{c}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("POST /logout = %d to %q, want 303 to /login", w.Code, w.Header().Get("Location"))
	}
	if cleared := findCookie(w, sessionCookie); cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", cleared)
	}
	if w := h.do(req{path: "/api/apps", cookies: []*http.Cookie{c}}); w.Code != http.StatusUnauthorized {
		t.Errorf("the old session after logout: GET /api/apps = %d, want 401", w.Code)
	}
}

func TestAuth_EmptyTokenLetsNobodyIn(t *testing.T) {
	h := New(Config{Backend: newFakeBackend(), Logger: slog.New(slog.DiscardHandler)})
	if w := h.do(req{path: "/api/apps", header: map[string]string{"Authorization": "Bearer "}}); w.Code != http.StatusUnauthorized {
		t.Errorf("empty Bearer with an empty token = %d, want 401", w.Code)
	}
	if w := h.do(req{method: http.MethodPost, path: "/login", form: url.Values{"token": {""}}}); w.Code != http.StatusUnauthorized {
		t.Errorf("empty login with an empty token = %d, want 401", w.Code)
	}
}

func TestAuth_HealthzAndMetricsNeedNone(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("slipway_up 1\n")) })
	h := New(Config{Backend: newFakeBackend(), Token: testToken, Metrics: metrics, Logger: slog.New(slog.DiscardHandler)})
	for path, want := range map[string]string{"/healthz": "ok\n", "/metrics": "slipway_up 1\n"} {
		if w := h.do(req{path: path}); w.Code != http.StatusOK || w.Body.String() != want {
			t.Errorf("GET %s = %d %q, want 200 %q", path, w.Code, w.Body, want)
		}
	}
	if w := newTestHandler(t, newFakeBackend()).do(req{path: "/metrics"}); w.Code == http.StatusOK {
		t.Errorf("GET /metrics without a Metrics handler = 200, want none")
	}
}

func TestCSRF_FormPOSTNeedsToken(t *testing.T) {
	fb := newFakeBackend()
	h := newTestHandler(t, fb)
	c := signIn(t, h)
	for name, form := range map[string]url.Values{
		"missing": {"version": {"2"}},
		"wrong":   {"version": {"2"}, "csrf": {"AAAA" + csrfOf(h, c)[4:]}},
		"other":   {"version": {"2"}, "csrf": {csrfOf(h, &http.Cookie{Value: h.newSession()})}},
	} {
		w := h.do(req{method: http.MethodPost, path: "/apps/hello/rollback", form: form, cookies: []*http.Cookie{c}})
		if w.Code != http.StatusForbidden {
			t.Errorf("%s CSRF token: POST rollback = %d, want 403", name, w.Code)
		}
		w = h.do(req{method: http.MethodPost, path: "/logout", form: form, cookies: []*http.Cookie{c}})
		if w.Code != http.StatusForbidden {
			t.Errorf("%s CSRF token: POST logout = %d, want 403", name, w.Code)
		}
	}
	if calls := fb.calls(); len(calls) != 0 {
		t.Errorf("the backend was asked to roll back: %+v", calls)
	}
}

func TestCSRF_APIPOSTWithCookieNeedsHeader(t *testing.T) {
	fb := newFakeBackend()
	h := newTestHandler(t, fb)
	c := signIn(t, h)
	w := h.do(req{method: http.MethodPost, path: "/api/apps/hello/rollback", cookies: []*http.Cookie{c}})
	if w.Code != http.StatusForbidden {
		t.Errorf("API POST with the cookie and no X-CSRF-Token = %d, want 403", w.Code)
	}
	w = h.do(req{method: http.MethodPost, path: "/api/apps/hello/rollback", cookies: []*http.Cookie{c},
		header: map[string]string{"X-CSRF-Token": csrfOf(h, c)}})
	if w.Code != http.StatusOK {
		t.Errorf("API POST with the cookie and X-CSRF-Token = %d, want 200\n%s", w.Code, w.Body)
	}
	// Bearer needs none.
	w = h.do(req{method: http.MethodPost, path: "/api/apps/hello/rollback", bearer: testToken, body: `{"version": 3}`})
	if w.Code != http.StatusOK {
		t.Errorf("API POST with Bearer = %d, want 200\n%s", w.Code, w.Body)
	}
}

func TestCSRF_CrossOriginPOSTRefused(t *testing.T) {
	fb := newFakeBackend()
	h := newTestHandler(t, fb)
	c := signIn(t, h)
	form := url.Values{"version": {"2"}, "csrf": {csrfOf(h, c)}}
	for _, site := range []string{"cross-site", "same-site"} {
		w := h.do(req{method: http.MethodPost, path: "/apps/hello/rollback", form: form, cookies: []*http.Cookie{c},
			header: map[string]string{"Sec-Fetch-Site": site}})
		if w.Code != http.StatusForbidden {
			t.Errorf("Sec-Fetch-Site %s: POST rollback = %d, want 403", site, w.Code)
		}
	}
	if calls := fb.calls(); len(calls) != 0 {
		t.Errorf("the backend was asked to roll back: %+v", calls)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	for _, path := range []string{"/login", "/apps/hello", "/api/apps", "/static/app.js"} {
		w := h.do(req{path: path, bearer: testToken})
		if path == "/login" {
			w = h.do(req{path: path})
		}
		hd := w.Header()
		csp := hd.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy = %q", path, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
			if got := hd.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

// Wrong tokens are slowed per client address: after five, the address is
// locked out (429 with Retry-After) for a delay that doubles, even with
// the right token; other addresses are not; the right token after the
// delay signs in and forgets the failures.
func TestAuth_WrongTokensAreThrottledPerAddress(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	wrong := req{method: http.MethodPost, path: "/login", form: url.Values{"token": {"guess"}}}
	for i := 1; i <= freeAttempts; i++ {
		if w := h.do(wrong); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i, w.Code)
		}
	}
	if w := h.do(wrong); w.Code != http.StatusUnauthorized {
		t.Fatalf("the wrong token that starts the lockout: %d", w.Code)
	}
	right := req{method: http.MethodPost, path: "/login", form: url.Values{"token": {testToken}}}
	w := h.do(right)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("locked out: %d, Retry-After %q; want 429 and 2", w.Code, w.Header().Get("Retry-After"))
	}
	if w := h.do(req{path: "/api/apps", bearer: testToken}); w.Code != http.StatusTooManyRequests {
		t.Errorf("a Bearer token from the locked-out address: %d, want 429", w.Code)
	}
	other := httptest.NewRequest(http.MethodGet, "/api/apps", nil)
	other.RemoteAddr = "198.51.100.9:4444"
	other.Header.Set("Authorization", "Bearer "+testToken)
	ow := httptest.NewRecorder()
	h.ServeHTTP(ow, other)
	if ow.Code != http.StatusOK {
		t.Errorf("another address: %d, want 200", ow.Code)
	}
	h.now = func() time.Time { return t0.Add(2 * time.Second) }
	if w := h.do(wrong); w.Code != http.StatusUnauthorized {
		t.Fatalf("a wrong token after the delay: %d", w.Code)
	}
	if w := h.do(right); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "3" {
		t.Errorf("the next lockout doubles: %d, Retry-After %q; want 429 and 3", w.Code, w.Header().Get("Retry-After"))
	}
	h.now = func() time.Time { return t0.Add(time.Minute) }
	if w := h.do(right); w.Code != http.StatusSeeOther {
		t.Fatalf("the right token after the delay: %d", w.Code)
	}
	if w := h.do(wrong); w.Code != http.StatusUnauthorized {
		t.Errorf("after a sign-in the failures are forgotten: %d", w.Code)
	}
}

// memSessions is a SessionStore in memory, which a second Handler (the
// same slipway after a restart or an upgrade) reads again.
type memSessions struct {
	revoked map[string]time.Time
	err     error // what RevokedSessions fails with, if set
}

func (m *memSessions) RevokeSession(_ context.Context, nonce string, exp time.Time) error {
	m.revoked[nonce] = exp
	return nil
}

func (m *memSessions) RevokedSessions(context.Context, time.Time) (map[string]time.Time, error) {
	return maps.Clone(m.revoked), m.err
}

// A signed-out session stays out after a restart or an upgrade: the
// Handler that comes next reads the sign-outs back.
func TestAuth_LogoutSurvivesARestart(t *testing.T) {
	store := &memSessions{revoked: map[string]time.Time{}}
	before := New(Config{Backend: newFakeBackend(), Token: testToken, Logger: slog.New(slog.DiscardHandler), Sessions: store})
	before.now = func() time.Time { return t0 }
	c := signIn(t, before)
	other := signIn(t, before)
	if w := before.do(req{method: http.MethodPost, path: "/logout", form: url.Values{"csrf": {csrfOf(before, c)}}, cookies: []*http.Cookie{c}}); w.Code != http.StatusSeeOther {
		t.Fatalf("POST /logout = %d", w.Code)
	}
	after := New(Config{Backend: newFakeBackend(), Token: testToken, Logger: slog.New(slog.DiscardHandler), Sessions: store})
	after.now = func() time.Time { return t0.Add(time.Minute) }
	if w := after.do(req{path: "/api/apps", cookies: []*http.Cookie{c}}); w.Code != http.StatusUnauthorized {
		t.Errorf("the signed-out session after a restart: GET /api/apps = %d, want 401", w.Code)
	}
	if w := after.do(req{path: "/api/apps", cookies: []*http.Cookie{other}}); w.Code != http.StatusOK {
		t.Errorf("another session after a restart: GET /api/apps = %d, want 200", w.Code)
	}

	// Sign-outs that cannot be read: no session from before is let in,
	// a new one is.
	store.err = errors.New("disk I/O error")
	unsure := New(Config{Backend: newFakeBackend(), Token: testToken, Logger: slog.New(slog.DiscardHandler), Sessions: store})
	unsure.now = func() time.Time { return t0.Add(time.Hour) }
	unsure.started = unsure.now()
	if w := unsure.do(req{path: "/api/apps", cookies: []*http.Cookie{other}}); w.Code != http.StatusUnauthorized {
		t.Errorf("a session from before, sign-outs unreadable: GET /api/apps = %d, want 401", w.Code)
	}
	if w := unsure.do(req{path: "/api/apps", cookies: []*http.Cookie{signIn(t, unsure)}}); w.Code != http.StatusOK {
		t.Errorf("a new session, sign-outs unreadable: GET /api/apps = %d, want 200", w.Code)
	}
}
