package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page, each with the shared layout,
// parsed at the first page served: every slipway process pays for its
// package initialisation, and most (the sandbox launcher, the git hook)
// serve no page.
var pages = sync.OnceValue(func() map[string]*template.Template {
	return parsePages("apps.html", "app.html", "release.html", "login.html", "error.html", "confirm.html")
})

// parsePages parses each page with the layout and the parts
// (templates/part-*.html: blocks a page includes by name).
func parsePages(names ...string) map[string]*template.Template {
	funcs := template.FuncMap{"static": staticURL, "stateClass": stateClass}
	m := make(map[string]*template.Template, len(names))
	for _, name := range names {
		m[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/part-*.html", "templates/charts.html", "templates/"+name))
	}
	return m
}

// staticSums are the first hex digits of each static file's SHA-256, put
// in its URL so that browsers may cache it and still see a new version.
var staticSums = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		sum := sha256.Sum256(b)
		m[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return err
	})
	return m
}()

// staticURL is the template function "static": the URL of a static file.
func staticURL(name string) string { return "/static/" + name + "?v=" + staticSums[name] }

// staticHandler serves the embedded CSS, JS and icon, without a listing.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := staticSums[r.URL.Path]; !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
}

// basePage is what the layout needs from every page.
type basePage struct {
	Title    string
	CSRF     string // for the forms on the page; empty for Bearer requests
	SignedIn bool   // a session, which the header's "Log out" ends
}

func (h *Handler) base(a auth, title string) basePage {
	return basePage{Title: title, CSRF: h.csrfToken(a), SignedIn: a.kind == authSession}
}

// render executes page name into a buffer first, so that a template error
// is a clean 500 and not half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var buf bytes.Buffer
	if err := pages()[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("render admin page", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error (see the slipway log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

const flashCookie = "slipway_flash"

// flash is a one-line message shown once on the next page, after a
// redirect: the outcome of a rollback.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

// setFlash stores f in a short-lived signed cookie. Signed, so that no
// other site can put words on this page.
func (h *Handler) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	if len(f.Message) > 600 {
		f.Message = strings.ToValidUTF8(f.Message[:600], "") + "…"
	}
	v := base64.RawURLEncoding.EncodeToString([]byte(f.Kind + "\n" + f.Message))
	http.SetCookie(w, cookie(r, flashCookie, v+"."+sign(h.flashKey, v), time.Minute))
}

// takeFlash returns the flash message of r, if any, and clears it.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, cookie(r, flashCookie, "", 0))
	v, mac, _ := strings.Cut(c.Value, ".")
	if !hmac.Equal([]byte(mac), []byte(sign(h.flashKey, v))) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	kind, msg, _ := strings.Cut(string(b), "\n")
	if kind != "ok" && kind != "error" {
		return nil
	}
	return &flash{Kind: kind, Message: msg}
}
