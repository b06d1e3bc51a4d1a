package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

const (
	sessionCookie = "slipway_session"
	// sessionTTL is how long a sign-in lasts.
	sessionTTL = 12 * time.Hour
	// maxFormBytes bounds the body of every form and API POST.
	maxFormBytes = 64 << 10
)

// authKind says how a request proved it knows the admin token.
type authKind int

const (
	authNone    authKind = iota
	authBearer           // Authorization: Bearer TOKEN; needs no CSRF token
	authSession          // the session cookie; POSTs need the CSRF token
)

// auth is the outcome of authenticate.
type auth struct {
	kind    authKind
	session string // the cookie value, for authSession
}

// deriveKey derives a key for one purpose from the admin token, so the
// token itself never signs anything and changing it ends every session.
func deriveKey(token, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("slipway admin " + purpose + " key v1"))
	return m.Sum(nil)
}

// sign returns the base64url HMAC-SHA256 of msg under key.
func sign(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenOK reports, in constant time, whether tok is the admin token.
// Hashing first hides the token's length too.
// checkToken checks a token a client sent (ok false when it sent a
// malformed one): errThrottled while its address is locked out for too
// many wrong ones, without looking at the token; errBadToken when it is
// wrong, counted and logged with the address.
func (h *Handler) checkToken(r *http.Request, ok bool, tok string) error {
	addr, now := clientAddr(r), h.now()
	if err := h.fails.check(addr, now); err != nil {
		return err
	}
	if ok && h.tokenOK(tok) {
		h.fails.succeed(addr)
		return nil
	}
	n := h.fails.fail(addr, now)
	h.log.Warn("admin sign-in refused: wrong token", "remote", addr, "failures_in_a_row", n)
	return errBadToken
}

func (h *Handler) tokenOK(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], h.tokenSum[:]) == 1 && h.cfg.Token != ""
}

// authenticate looks at the Authorization header, then the session cookie.
// A wrong Bearer token is an error even when the cookie is good: a script
// with a stale token should hear about it.
func (h *Handler) authenticate(r *http.Request) (auth, error) {
	if hv := r.Header.Get("Authorization"); hv != "" {
		scheme, tok, _ := strings.Cut(hv, " ")
		if err := h.checkToken(r, strings.EqualFold(scheme, "Bearer"), strings.TrimSpace(tok)); err != nil {
			return auth{}, err
		}
		return auth{kind: authBearer}, nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil && h.checkSession(c.Value) {
		return auth{kind: authSession, session: c.Value}, nil
	}
	return auth{}, nil
}

// newSession returns a fresh session cookie value: "EXPIRY.NONCE.MAC".
func (h *Handler) newSession() string {
	payload := strconv.FormatInt(h.now().Add(sessionTTL).Unix(), 10) + "." + rand.Text()
	return payload + "." + sign(h.sessionKey, payload)
}

// parseSession verifies v's signature and expiry and returns its nonce.
func (h *Handler) parseSession(v string) (nonce string, exp time.Time, ok bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 || h.cfg.Token == "" {
		return "", time.Time{}, false
	}
	payload, mac := v[:i], v[i+1:]
	if !hmac.Equal([]byte(mac), []byte(sign(h.sessionKey, payload))) {
		return "", time.Time{}, false
	}
	expText, nonce, _ := strings.Cut(payload, ".")
	unix, err := strconv.ParseInt(expText, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	exp = time.Unix(unix, 0)
	return nonce, exp, h.now().Before(exp)
}

// checkSession reports whether v is a live session: signed here, not
// expired, not logged out.
func (h *Handler) checkSession(v string) bool {
	nonce, exp, ok := h.parseSession(v)
	if !ok {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessionsUnknown && exp.Add(-sessionTTL).Before(h.started) {
		return false // it may have been signed out: see New
	}
	_, revoked := h.revoked[nonce]
	return !revoked
}

// revoke ends the session v before its expiry. Sessions are stateless, so
// logging out remembers the nonce until the session would have expired
// anyway, in memory and in Config.Sessions, so that a restart or an
// upgrade does not forget it.
func (h *Handler) revoke(ctx context.Context, v string) error {
	nonce, exp, ok := h.parseSession(v)
	if !ok {
		return nil
	}
	h.mu.Lock()
	now := h.now()
	for n, e := range h.revoked {
		if !now.Before(e) {
			delete(h.revoked, n)
		}
	}
	h.revoked[nonce] = exp
	h.mu.Unlock()
	if h.cfg.Sessions == nil {
		return nil
	}
	return h.cfg.Sessions.RevokeSession(ctx, nonce, exp)
}

// csrfToken is the CSRF token of a session: an HMAC of its cookie value.
// Bearer requests have none and need none.
func (h *Handler) csrfToken(a auth) string {
	if a.kind != authSession {
		return ""
	}
	return sign(h.csrfKey, a.session)
}

// csrfOK reports whether got is the CSRF token a POST of a needs.
func (h *Handler) csrfOK(a auth, got string) bool {
	if a.kind != authSession {
		return a.kind == authBearer
	}
	return hmac.Equal([]byte(got), []byte(h.csrfToken(a)))
}

// cookie returns an HttpOnly, SameSite=Strict cookie for the whole admin
// address, Secure when the request came over https.
func cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	} else {
		c.MaxAge = -1
	}
	return c
}

// localPath returns next if it is a path on this server, else "/". A
// leading "//" or a backslash or control character (which browsers turn
// into "//") would send the user to another host.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(c rune) bool { return c == '\\' || c < 0x20 || c == 0x7f }) {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// loginURL is where an unauthenticated browser is sent: back to the page
// it asked for, or for a POST, to the page the form was on.
func loginURL(r *http.Request) string {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		next = path.Dir(r.URL.Path)
	}
	return "/login?next=" + url.QueryEscape(next)
}

// loginForm serves GET /login.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if a, err := h.authenticate(r); err == nil && a.kind != authNone {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login.html", &loginPage{basePage: basePage{Title: "Sign in"}, Next: next})
}

// login serves POST /login: the right token gets a session cookie and goes
// on to next; a wrong one gets the form again.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	next := localPath(r.PostFormValue("next"))
	if err := h.checkToken(r, true, r.PostFormValue("token")); err != nil {
		code, msg := http.StatusUnauthorized, "Wrong token."
		if retryAfter(w, err) {
			code, msg = http.StatusTooManyRequests, err.Error()+"."
		}
		h.render(w, r, code, "login.html", &loginPage{basePage: basePage{Title: "Sign in"}, Next: next, Error: msg})
		return
	}
	h.log.Info("admin sign-in", "remote", r.RemoteAddr)
	http.SetCookie(w, cookie(r, sessionCookie, h.newSession(), sessionTTL))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout serves POST /logout.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, a auth) {
	if a.kind == authSession {
		if err := h.revoke(r.Context(), a.session); err != nil {
			// Signed out here; a restart would let the cookie in again.
			h.log.Error("admin: sign-out not saved: the session ends now but would come back after a restart", "err", err)
		}
	}
	http.SetCookie(w, cookie(r, sessionCookie, "", 0))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// authedHandler is a page or API handler that runs once the request is
// authenticated (and for a POST, its CSRF token checked).
type authedHandler func(w http.ResponseWriter, r *http.Request, a auth)

// page guards an HTML route: a browser without a session goes to the login
// form, a wrong Bearer token gets 401, a POST without the CSRF token 403.
func (h *Handler) page(next authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		a, err := h.authenticate(r)
		switch {
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="slipway"`)
			h.pageError(w, r, a, err)
			return
		case a.kind == authNone:
			http.Redirect(w, r, loginURL(r), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if !h.csrfOK(a, r.PostFormValue("csrf")) {
				h.pageError(w, r, a, errCSRF)
				return
			}
		}
		next(w, r, a)
	}
}

// api guards a JSON route: no or wrong credentials get 401 JSON; a POST
// made with the session cookie needs the CSRF token in X-CSRF-Token.
func (h *Handler) api(next authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		a, err := h.authenticate(r)
		if err == nil && a.kind == authNone {
			err = errNoAuth
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="slipway"`)
			h.apiError(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if !h.csrfOK(a, r.Header.Get("X-CSRF-Token")) {
				h.apiError(w, r, errCSRF)
				return
			}
		}
		next(w, r, a)
	}
}
