package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

const testToken = "s3cret-admin-token"

// t0 is "now" in these tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeBackend is an in-memory Backend: apps, their histories (newest
// first), build logs, and a record of rollbacks.
type fakeBackend struct {
	mu        sync.Mutex
	apps      []AppSummary
	releases  map[string][]*slipway.Release
	logs      map[string]string // "app/vN"
	err       error             // if set, every method fails with it
	rollbacks []rollbackCall
	services  map[slipway.ServiceKind][]slipway.ServiceStatus
	// servicesErr, if set, fails Services alone.
	servicesErr error
}

type rollbackCall struct {
	App string
	To  slipway.Version
	By  string
}

var _ Backend = (*fakeBackend)(nil)

// newFakeBackend has one app, "hello", with v3 live (a push whose subject
// tries to inject a script), v2 draining, v1 retired and pruned, and a
// failed v4 on top; and two services: "main-db", a PostgreSQL 16 linked
// to hello and backed up, and "cache", a crashed Redis 7 never backed up.
func newFakeBackend() *fakeBackend {
	rel := func(v int, status slipway.ReleaseStatus, subject string) *slipway.Release {
		return &slipway.Release{
			App: "hello", Version: slipway.Version(v), Kind: slipway.KindPush, Status: status,
			Commit: fmt.Sprintf("c0ffee%d%033d", v, 0), Subject: subject, Author: "Ada <ada@example.com>",
			PusherFingerprint: "SHA256:Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0", PusherComment: "ada@laptop",
			CreatedAt:     t0.Add(-time.Duration(10-v) * time.Minute),
			BuildDuration: 1500 * time.Millisecond,
		}
	}
	v1 := rel(1, slipway.StatusRetired, "first version")
	v1.Pruned = true
	v4 := rel(4, slipway.StatusFailed, "broken")
	v4.Failure = "build failed: exit status 1"
	return &fakeBackend{
		apps: []AppSummary{{
			Name: "hello", Live: 3, Commit: "abc1234", Instances: 2, Draining: 1,
			LastDeploy: t0.Add(-3 * time.Minute), URL: "http://hello.example.test:8080/",
		}},
		releases: map[string][]*slipway.Release{"hello": {
			v4,
			rel(3, slipway.StatusLive, "<script>alert(1)</script> v3"),
			rel(2, slipway.StatusDraining, "second version"),
			v1,
		}},
		logs: map[string]string{"hello/v3": "-----> building\n<script>alert('log')</script>\n"},
		services: map[slipway.ServiceKind][]slipway.ServiceStatus{
			slipway.Postgres: {{
				Name: "main-db", Kind: slipway.Postgres, Version: "16", State: slipway.StateUp, PID: 300,
				Since: t0.Add(-2 * time.Hour), Size: 25 << 20,
				Links: []slipway.ServiceLink{{Service: "main-db", App: "hello", Var: "DATABASE_URL"}},
				URL:   "postgres://postgres:********@127.0.0.1:7001/main-db",
				LastBackup: &slipway.BackupInfo{Name: "main-db-20260301T090000Z.dump", Size: 3 << 20,
					Taken: t0.Add(-3 * time.Hour)},
				BackupSchedule: "0 9 * * *", BackupKeep: 7,
			}},
			slipway.Redis: {{
				Name: "cache", Kind: slipway.Redis, Version: "7", State: slipway.StateCrashed,
				Since: t0.Add(-time.Minute), Restarts: 4, Size: 1536,
				Links: []slipway.ServiceLink{}, URL: "redis://:********@127.0.0.1:7002",
			}},
		},
	}
}

// Services returns the services of kind; an unknown kind is EINVALID, as
// package apps has it.
func (f *fakeBackend) Services(ctx context.Context, kind slipway.ServiceKind) ([]slipway.ServiceStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if f.servicesErr != nil {
		return nil, f.servicesErr
	}
	if kind != slipway.Postgres && kind != slipway.Redis {
		return nil, slipway.Errorf(slipway.EINVALID, "unknown kind of service %q", kind)
	}
	return append([]slipway.ServiceStatus{}, f.services[kind]...), nil
}

func (f *fakeBackend) Apps(ctx context.Context) ([]AppSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AppSummary(nil), f.apps...), f.err
}

func (f *fakeBackend) Releases(ctx context.Context, app string) ([]*slipway.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	rels, ok := f.releases[app]
	if !ok {
		return nil, fmt.Errorf("releases of %s: %w", app, slipway.ErrAppNotFound)
	}
	return append([]*slipway.Release(nil), rels...), nil
}

// App returns the same running system for every app it knows: two web
// instances of v3, one of them crashed, and v2 draining.
func (f *fakeBackend) App(ctx context.Context, app string) (*AppDetail, error) {
	if _, err := f.Releases(ctx, app); err != nil {
		return nil, err
	}
	return &AppDetail{
		Name: app, URL: "http://" + app + ".example.test:8080/", GitRemote: "ssh://git@example.test:2222/" + app,
		Domains: []string{"www.example.com"},
		Processes: []Process{
			{ID: "web.1", Release: 3, Live: true, State: "up", Since: t0.Add(-time.Hour), PID: 100, Port: 5000},
			{ID: "web.2", Release: 3, Live: true, State: "crashed", LastExit: "exited with status 3 <b>", Since: t0.Add(-time.Minute), Restarts: 4, PID: 101, Port: 5001},
			{ID: "web.1", Release: 2, State: "up", Since: t0.Add(-2 * time.Hour), PID: 90, Port: 5002},
		},
		Draining:    []Drain{{Release: 2, Since: t0.Add(-5 * time.Minute), Sessions: 7, LastSeen: t0.Add(-time.Minute), IdleRetire: t0.Add(29 * time.Minute), RetireBy: t0.Add(time.Hour), SleepingSince: t0.Add(-3 * time.Minute)}},
		Scale:       map[string]int{"web": 2},
		Config:      []ConfigKey{{Key: "DATABASE_URL"}, {Key: "SECRET_KEY", Pending: true}},
		Services:    []slipway.LinkedService{{Name: "main-db", Kind: slipway.Postgres, Var: "DATABASE_URL", State: slipway.StateUp}},
		Maintenance: true,
		Events:      []slipway.Event{{App: app, At: t0.Add(-30 * time.Second), Kind: slipway.EventScale, By: "ops@laptop", Detail: "web=2"}},
		Log:         "web.1 | listening <script>x</script>\n",
	}, nil
}

func (f *fakeBackend) Release(ctx context.Context, app string, v slipway.Version) (*slipway.Release, error) {
	rels, err := f.Releases(ctx, app)
	if err != nil {
		return nil, err
	}
	for _, r := range rels {
		if r.Version == v {
			return r, nil
		}
	}
	return nil, slipway.Errorf(slipway.ENOTFOUND, "%s has no release %s", app, v)
}

func (f *fakeBackend) BuildLog(ctx context.Context, app string, v slipway.Version) ([]byte, error) {
	if _, err := f.Release(ctx, app, v); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	log, ok := f.logs[app+"/"+v.String()]
	if !ok {
		return nil, slipway.Errorf(slipway.ENOTFOUND, "no build log for %s %s", app, v)
	}
	return []byte(log), nil
}

// Rollback makes the new release live on top of the history; to = 0 picks
// the newest release that could be rolled back to.
func (f *fakeBackend) Rollback(ctx context.Context, app string, to slipway.Version, out io.Writer) (*slipway.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rollbacks = append(f.rollbacks, rollbackCall{App: app, To: to, By: slipway.CallerName(ctx, "")})
	if f.err != nil {
		return nil, f.err
	}
	rels, ok := f.releases[app]
	if !ok {
		return nil, slipway.ErrAppNotFound
	}
	var target *slipway.Release
	for _, r := range rels {
		if (to == 0 && canRollback(r)) || r.Version == to {
			target = r
			break
		}
	}
	if target == nil || !canRollback(target) {
		return nil, slipway.Errorf(slipway.ECONFLICT, "cannot roll back to %s", to)
	}
	for _, r := range rels {
		if r.Status == slipway.StatusLive {
			r.Status = slipway.StatusDraining
		}
	}
	fmt.Fprintf(out, "rolling back to %s\n", target.Version)
	n := &slipway.Release{
		App: app, Version: rels[0].Version + 1, Kind: slipway.KindRollback, Status: slipway.StatusLive,
		Commit: target.Commit, Subject: target.Subject, Author: target.Author,
		PusherComment: slipway.CallerName(ctx, ""), CreatedAt: t0, RollbackOf: target.Version,
	}
	f.releases[app] = append([]*slipway.Release{n}, rels...)
	return n, nil
}

func (f *fakeBackend) calls() []rollbackCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rollbackCall(nil), f.rollbacks...)
}

// newTestHandler returns a handler over fb with testToken, its clock at t0.
func newTestHandler(t *testing.T, fb *fakeBackend) *Handler {
	t.Helper()
	h := New(Config{
		Backend: fb, Token: testToken, Domain: "example.test",
		Logger: slog.New(slog.DiscardHandler),
	})
	h.now = func() time.Time { return t0 }
	return h
}

// req is one request to the handler under test.
type req struct {
	method, path string
	form         url.Values // a form body
	body         string     // a raw body, when form is nil
	bearer       string
	cookies      []*http.Cookie
	header       map[string]string
}

func (h *Handler) do(r req) *httptest.ResponseRecorder {
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	} else if r.body != "" {
		body = strings.NewReader(r.body)
	}
	if r.method == "" {
		r.method = http.MethodGet
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	return w
}

// signIn posts the token to /login and returns the session cookie.
func signIn(t *testing.T, h *Handler) *http.Cookie {
	t.Helper()
	w := h.do(req{method: http.MethodPost, path: "/login", form: url.Values{"token": {testToken}, "next": {"/"}}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST /login = %d, want 303\n%s", w.Code, w.Body)
	}
	c := findCookie(w, sessionCookie)
	if c == nil {
		t.Fatal("POST /login set no session cookie")
	}
	return c
}

// findCookie returns the cookie named name that w sets, or nil.
func findCookie(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// csrfOf returns the CSRF token of the session cookie c.
func csrfOf(h *Handler, c *http.Cookie) string {
	return h.csrfToken(auth{kind: authSession, session: c.Value})
}
