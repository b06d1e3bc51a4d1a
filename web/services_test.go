package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// serviceRow returns the <tr> of service name in the apps page.
func serviceRow(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr id="service-` + name + `".*?</tr>`).FindString(page)
	if m == "" {
		t.Fatalf("no row for service %s in\n%s", name, page)
	}
	return m
}

// servicesOf returns the services section of the apps page.
func servicesOf(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section id="services".*?</section>`).FindString(page)
	if m == "" {
		t.Fatalf("the apps page has no services section:\n%s", page)
	}
	return m
}

func TestAppsPage_Services(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{path: "/", bearer: testToken})
	if w.Code != http.StatusOK {
		t.Fatalf("GET / = %d\n%s", w.Code, w.Body)
	}
	body := w.Body.String()
	sec := servicesOf(t, body)
	for _, want := range []string{
		`data-poll="/api/services"`, `data-kind="services"`, `data-every="10"`,
		`data-state="cache:redis:7:crashed:4:::,main-db:postgres:16:up:0:hello:main-db-20260301T090000Z.dump:0 9 * * *"`,
		"<h2>Services</h2>",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("the services section lacks %q:\n%s", want, sec)
		}
	}
	if i, j := strings.Index(sec, `id="service-cache"`), strings.Index(sec, `id="service-main-db"`); i < 0 || j < i {
		t.Errorf("the services are not sorted by name across kinds:\n%s", sec)
	}
	tests := []struct {
		name string
		want []string
	}{
		{"main-db", []string{
			">main-db<", ">postgres 16<", `<span class="badge live">up</span>`, `title="since 2026-03-01T10:00:00Z">for 2h<`,
			`title="26214400 bytes">25M<`, `<a class="app" href="/apps/hello">hello</a> <code class="muted">DATABASE_URL</code>`,
			`title="main-db-20260301T090000Z.dump, 2026-03-01T09:00:00Z">3h ago<`, "scheduled <code>0 9 * * *</code>, keeps 7",
		}},
		{"cache", []string{
			">redis 7<", `<span class="badge failed">crashed</span>`, `for 1m</time><span class="muted">, 4 restarts</span>`, ">1.5K<",
			`<span class="muted">none</span>`, `<span class="badge draining">never</span>`, "no schedule",
		}},
	}
	for _, tt := range tests {
		r := serviceRow(t, body, tt.name)
		for _, want := range tt.want {
			if !strings.Contains(r, want) {
				t.Errorf("%s's row lacks %q:\n%s", tt.name, want, r)
			}
		}
	}
	if strings.Contains(sec, "127.0.0.1") || strings.Contains(sec, "********") {
		t.Errorf("the page shows a connection URL:\n%s", sec)
	}
	// The apps are still there.
	if !strings.Contains(body, `href="/apps/hello"`) || !strings.Contains(body, `data-poll="/api/apps"`) {
		t.Errorf("the apps section is gone:\n%s", body)
	}
}

func TestAppsPage_ServicesEscapeLinks(t *testing.T) {
	fb := newFakeBackend()
	fb.services[slipway.Postgres][0].Links = []slipway.ServiceLink{
		{Service: "main-db", App: `x"><script>alert(1)</script>`, Var: "DATABASE_<b>_URL"},
		{Service: "main-db", App: "shop", Var: "DATABASE_MAIN_DB_URL"},
	}
	body := newTestHandler(t, fb).do(req{path: "/", bearer: testToken}).Body.String()
	r := serviceRow(t, body, "main-db")
	if strings.Contains(body, "<script>") || strings.Contains(r, "<b>") {
		t.Fatalf("a link's app or var reached the page unescaped:\n%s", r)
	}
	for _, want := range []string{
		`&lt;script&gt;alert(1)&lt;/script&gt;</a>`, "DATABASE_&lt;b&gt;_URL",
		`href="/apps/x%22%3e%3cscript%3ealert%281%29%3c/script%3e"`,
		`<br><a class="app" href="/apps/shop">shop</a> <code class="muted">DATABASE_MAIN_DB_URL</code>`,
	} {
		if !strings.Contains(r, want) {
			t.Errorf("main-db's row lacks %q:\n%s", want, r)
		}
	}
}

func TestAppsPage_NoServices(t *testing.T) {
	fb := newFakeBackend()
	fb.services = nil
	body := newTestHandler(t, fb).do(req{path: "/", bearer: testToken}).Body.String()
	sec := servicesOf(t, body)
	for _, want := range []string{`data-state=""`, "No backing services yet", "postgres:create NAME", "postgres:link NAME APP", "redis:create NAME"} {
		if !strings.Contains(sec, want) {
			t.Errorf("the empty services section lacks %q:\n%s", want, sec)
		}
	}
	if strings.Contains(sec, "<table") {
		t.Errorf("an empty services section has a table:\n%s", sec)
	}
}

// A failing list of services does not take the apps page down with it.
func TestAppsPage_ServicesError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("stat /data/services: disk on fire"), "The services could not be read: internal error (see the slipway log)"},
		{slipway.Errorf(slipway.ECONFLICT, "the store is busy"), "The services could not be read: the store is busy"},
	}
	for _, tt := range tests {
		fb := newFakeBackend()
		fb.servicesErr = tt.err
		w := newTestHandler(t, fb).do(req{path: "/", bearer: testToken})
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, `href="/apps/hello"`) {
			t.Errorf("%v: GET / = %d without the apps:\n%s", tt.err, w.Code, body)
		}
		if sec := servicesOf(t, body); !strings.Contains(sec, tt.want) || strings.Contains(sec, "disk on fire") {
			t.Errorf("%v: the services section does not say %q (and only that):\n%s", tt.err, tt.want, sec)
		}
	}
}

func TestAPI_Services(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{path: "/api/services", bearer: testToken})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/services = %d %s\n%s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var list []slipway.ServiceStatus
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "cache" || list[1].Name != "main-db" {
		t.Fatalf("services = %+v, want cache and main-db", list)
	}
	db := list[1]
	if db.Kind != slipway.Postgres || db.Version != "16" || db.State != slipway.StateUp || db.Size != 25<<20 ||
		len(db.Links) != 1 || db.Links[0].App != "hello" || db.Links[0].Var != "DATABASE_URL" ||
		db.LastBackup == nil || !db.LastBackup.Taken.Equal(t0.Add(-3*time.Hour)) ||
		db.URL != "postgres://postgres:********@127.0.0.1:7001/main-db" {
		t.Errorf("main-db = %+v", db)
	}
	var raw []map[string]any
	json.Unmarshal(w.Body.Bytes(), &raw)
	if _, ok := raw[0]["last_backup"]; ok || raw[0]["kind"] != "redis" || raw[0]["state"] != "crashed" {
		t.Errorf("cache = %v, want a crashed redis without last_backup", raw[0])
	}

	fb := newFakeBackend()
	fb.services = nil
	if got := newTestHandler(t, fb).do(req{path: "/api/services", bearer: testToken}).Body.String(); got != "[]\n" {
		t.Errorf("no services: body = %q, want []", got)
	}
}

func TestAPI_ServicesError(t *testing.T) {
	fb := newFakeBackend()
	fb.servicesErr = errors.New("open /data/services: disk on fire")
	w := newTestHandler(t, fb).do(req{path: "/api/services", bearer: testToken})
	var body struct{ Error string }
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusInternalServerError || body.Error != "internal error (see the slipway log)" {
		t.Errorf("GET /api/services = %d %q, want 500 and no detail", w.Code, body.Error)
	}
}

// The admin address never shows a password, even from a Backend that
// forgot to mask one.
func TestServices_NeverShowAPassword(t *testing.T) {
	fb := newFakeBackend()
	fb.services[slipway.Postgres][0].URL = "postgres://postgres:hunter2@127.0.0.1:7001/main-db"
	fb.services[slipway.Redis][0].URL = "redis://:hunter2@127.0.0.1:7002"
	h := newTestHandler(t, fb)
	for _, path := range []string{"/api/services", "/"} {
		if body := h.do(req{path: path, bearer: testToken}).Body.String(); strings.Contains(body, "hunter2") {
			t.Errorf("GET %s shows the password:\n%s", path, body)
		}
	}
	var list []slipway.ServiceStatus
	json.Unmarshal(h.do(req{path: "/api/services", bearer: testToken}).Body.Bytes(), &list)
	if len(list) != 2 || list[0].URL != "redis://:********@127.0.0.1:7002" || list[1].URL != "postgres://postgres:********@127.0.0.1:7001/main-db" {
		t.Errorf("URLs = %+v", list)
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://postgres:s3cret@127.0.0.1:5432/db":         "postgres://postgres:********@127.0.0.1:5432/db",
		"postgres://postgres:********@127.0.0.1:5432/db":       "postgres://postgres:********@127.0.0.1:5432/db",
		"redis://:p%40ss@127.0.0.1:6379":                       "redis://:********@127.0.0.1:6379",
		"postgres://postgres:pw@127.0.0.1:5432/db?password=pw": "postgres://postgres:********@127.0.0.1:5432/db",
		"redis://127.0.0.1:6379":                               "redis://127.0.0.1:6379",
		"postgres://u:pw@[::1]:5432/db":                        "postgres://u:********@[::1]:5432/db",
		"postgres://u:p w@%zz":                                 "",
		"":                                                     "",
	} {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppPage_LinkedServices(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	body := h.do(req{path: "/apps/hello", bearer: testToken}).Body.String()
	want := `<a href="/#service-main-db">main-db</a> <span class="badge live">up</span> <code class="muted">DATABASE_URL</code>`
	if !strings.Contains(body, want) {
		t.Errorf("the app page lacks its linked service %q:\n%s", want, body)
	}
	// The running section refreshes when a linked service's state changes.
	fb := newFakeBackend()
	d1, _ := fb.App(t.Context(), "hello")
	d2, _ := fb.App(t.Context(), "hello")
	d2.Services[0].State = slipway.StateCrashed
	if detailState(d1) == detailState(d2) {
		t.Errorf("detailState does not change with a linked service's state")
	}
}
