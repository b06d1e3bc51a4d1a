package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestAPI_Apps(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{path: "/api/apps", bearer: testToken})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/apps = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	var apps []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &apps); err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 {
		t.Fatalf("apps = %v, want one", apps)
	}
	want := map[string]any{"name": "hello", "live_version": 3.0, "instances": 2.0, "draining": 1.0,
		"url": "http://hello.example.test:8080/", "last_deploy": t0.Add(-3 * time.Minute).Format(time.RFC3339)}
	for k, v := range want {
		if apps[0][k] != v {
			t.Errorf("apps[0][%q] = %#v, want %#v", k, apps[0][k], v)
		}
	}

	empty := newFakeBackend()
	empty.apps = nil
	if got := newTestHandler(t, empty).do(req{path: "/api/apps", bearer: testToken}).Body.String(); got != "[]\n" {
		t.Errorf("no apps: body = %q, want []", got)
	}
}

func TestAPI_Releases(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{path: "/api/apps/hello/releases", bearer: testToken})
	if w.Code != http.StatusOK {
		t.Fatalf("GET releases = %d\n%s", w.Code, w.Body)
	}
	var rels []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &rels); err != nil {
		t.Fatal(err)
	}
	if len(rels) != 4 {
		t.Fatalf("got %d releases, want 4", len(rels))
	}
	v3 := rels[1]
	want := map[string]any{
		"app": "hello", "version": 3.0, "name": "v3", "status": "live", "live": true, "kind": "push",
		"commit": "c0ffee3" + strings.Repeat("0", 33), "subject": "<script>alert(1)</script> v3",
		"author": "Ada <ada@example.com>", "created_at": t0.Add(-7 * time.Minute).Format(time.RFC3339),
		"build_duration_ms": 1500.0, "pruned": false, "rollback_of": nil,
	}
	for k, v := range want {
		got, ok := v3[k]
		if !ok || got != v {
			t.Errorf("v3[%q] = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
	if v3["pusher"] != "ada@laptop" || v3["pusher_comment"] != "ada@laptop" || v3["pusher_fingerprint"] != "SHA256:Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0" {
		t.Errorf("v3 pusher = %#v, %#v, %#v", v3["pusher"], v3["pusher_comment"], v3["pusher_fingerprint"])
	}
	if rels[0]["live"] != false || rels[0]["failure"] != "build failed: exit status 1" || rels[3]["pruned"] != true {
		t.Errorf("v4 and v1 = %v, %v", rels[0], rels[3])
	}
}

func TestAPI_ReleaseAndLog(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	w := h.do(req{path: "/api/apps/hello/releases/v3", bearer: testToken})
	var rel ReleaseJSON
	if err := json.Unmarshal(w.Body.Bytes(), &rel); err != nil || rel.Version != 3 || !rel.Live {
		t.Errorf("GET release v3 = %d %+v (%v)", w.Code, rel, err)
	}
	w = h.do(req{path: "/api/apps/hello/releases/v3/log", bearer: testToken})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("GET log = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if got, want := w.Body.String(), "-----> building\n<script>alert('log')</script>\n"; got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
}

func TestAPI_Rollback(t *testing.T) {
	tests := []struct {
		body   string
		wantTo slipway.Version
	}{
		{`{"version": 2}`, 2},
		{``, 0},
		{`{}`, 0},
	}
	for _, tt := range tests {
		fb := newFakeBackend()
		h := newTestHandler(t, fb)
		w := h.do(req{method: http.MethodPost, path: "/api/apps/hello/rollback", bearer: testToken, body: tt.body})
		if w.Code != http.StatusOK {
			t.Fatalf("body %q: POST rollback = %d\n%s", tt.body, w.Code, w.Body)
		}
		var rel ReleaseJSON
		if err := json.Unmarshal(w.Body.Bytes(), &rel); err != nil {
			t.Fatal(err)
		}
		if rel.Version != 5 || rel.Kind != string(slipway.KindRollback) || !rel.Live || rel.RollbackOf == nil || *rel.RollbackOf != 2 {
			t.Errorf("body %q: new release = %+v, want v5, a live rollback of v2", tt.body, rel)
		}
		if calls := fb.calls(); len(calls) != 1 || calls[0] != (rollbackCall{App: "hello", To: tt.wantTo, By: "admin"}) {
			t.Errorf("body %q: backend calls = %+v, want one to %d", tt.body, calls, tt.wantTo)
		}
	}
}

func TestAPI_RollbackBadBody(t *testing.T) {
	fb := newFakeBackend()
	h := newTestHandler(t, fb)
	for _, body := range []string{`{"version": "two"}`, `[1]`, `{"to": 2}`, `{"version": -1}`, `{`} {
		w := h.do(req{method: http.MethodPost, path: "/api/apps/hello/rollback", bearer: testToken, body: body})
		if w.Code != http.StatusBadRequest {
			t.Errorf("body %q: POST rollback = %d, want 400", body, w.Code)
		}
	}
	if calls := fb.calls(); len(calls) != 0 {
		t.Errorf("the backend was called: %+v", calls)
	}
}

func TestAPI_ErrorMapping(t *testing.T) {
	tests := []struct {
		err  error
		code int
		msg  string
	}{
		{slipway.Errorf(slipway.ENOTFOUND, "no app named x"), http.StatusNotFound, "no app named x"},
		{fmt.Errorf("load: %w", slipway.ErrAppNotFound), http.StatusNotFound, "load: app not found"},
		{slipway.Errorf(slipway.EINVALID, "v1 is pruned"), http.StatusBadRequest, "v1 is pruned"},
		{slipway.Errorf(slipway.ECONFLICT, "a deploy is running"), http.StatusConflict, "a deploy is running"},
		{errors.New("open /data/secret: disk on fire"), http.StatusInternalServerError, "internal error (see the slipway log)"},
	}
	for _, tt := range tests {
		fb := newFakeBackend()
		fb.err = tt.err
		h := newTestHandler(t, fb)
		for _, r := range []req{
			{path: "/api/apps", bearer: testToken},
			{path: "/api/apps/hello/releases", bearer: testToken},
			{method: http.MethodPost, path: "/api/apps/hello/rollback", bearer: testToken},
		} {
			w := h.do(r)
			var body struct{ Error string }
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tt.code || body.Error != tt.msg {
				t.Errorf("%v: %s %s = %d %q, want %d %q", tt.err, r.method, r.path, w.Code, body.Error, tt.code, tt.msg)
			}
		}
		// The pages use the same mapping.
		if w := h.do(req{path: "/apps/hello", bearer: testToken}); w.Code != tt.code || !strings.Contains(w.Body.String(), tt.msg[:10]) {
			t.Errorf("%v: history page = %d, want %d with %q", tt.err, w.Code, tt.code, tt.msg)
		}
	}
}
