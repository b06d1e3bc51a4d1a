package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// A session cookie copied before POST /logout stays dead after slipway
// is upgraded in place (the sign-out is in the history, not in memory).
func TestAdmin_LogoutSurvivesAnUpgrade(t *testing.T) {
	const token = "e2e-admin-token-0123456789abcdef0123456789"
	s := startServer(t, "--admin-token", token)
	admin := "http://" + s.adminAddr
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res, err := c.PostForm(admin+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Value != "" && strings.Contains(ck.Name, "session") {
			session = ck
		}
	}
	if session == nil {
		t.Fatalf("POST /login = %d with no session cookie", res.StatusCode)
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, admin+path, nil)
		req.AddCookie(session)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, page := get("/")
	m := csrfField.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("GET / signed in = %d, no CSRF token in the page", code)
	}

	req, _ := http.NewRequest(http.MethodPost, admin+"/logout", strings.NewReader(url.Values{"csrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(session)
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /logout = %d, want 303", res.StatusCode)
	}
	if code, _ := get("/api/apps"); code != http.StatusUnauthorized {
		t.Fatalf("the signed-out cookie: GET /api/apps = %d, want 401", code)
	}

	s.upgrade(func(pid int) { syscall.Kill(pid, syscall.SIGHUP) })
	if code, _ := get("/api/apps"); code != http.StatusUnauthorized {
		t.Errorf("the signed-out cookie after an upgrade: GET /api/apps = %d, want 401", code)
	}
}
