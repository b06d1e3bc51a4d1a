package router

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRouter_ReadCookie(t *testing.T) {
	r := New(Config{AffinityKey: testKey, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(r.Close)
	now := time.Now()
	codec := testCodec()
	good := codec.Encode("web", Affinity{Release: "v1", Instance: "web.1", Issued: now})
	other := codec.Encode("api", Affinity{Release: "v1", Instance: "web.1", Issued: now})
	bad := CookieName + "=" + other + "; "
	for _, tc := range []struct {
		name    string
		headers []string
		want    bool
	}{
		{"alone", []string{CookieName + "=" + good}, true},
		{"among others", []string{"a=b; " + CookieName + "=" + good + "; c=d"}, true},
		{"no space", []string{"a=b;" + CookieName + "=" + good}, true},
		{"quoted", []string{CookieName + `="` + good + `"`}, true},
		{"trailing space", []string{CookieName + "=" + good + " ; a=b"}, true},
		{"second header", []string{"a=b", CookieName + "=" + good}, true},
		{"after another app's", []string{bad + CookieName + "=" + good}, true},
		{"after too many bad ones", []string{strings.Repeat(bad, maxCookieTries) + CookieName + "=" + good}, false},
		{"none", nil, false},
		{"empty", []string{""}, false},
		{"other name", []string{"x" + CookieName + "=" + good}, false},
		{"name case", []string{strings.ToUpper(CookieName) + "=" + good}, false},
		{"no value", []string{CookieName}, false},
	} {
		req := httptest.NewRequest(http.MethodGet, "http://web.apps.test/", nil)
		for _, h := range tc.headers {
			req.Header.Add("Cookie", h)
		}
		var raw [maxRaw]byte
		tk, ok := r.readCookie(&raw, req, "web", now.Unix())
		if ok != tc.want {
			t.Errorf("%s: found %v, want %v", tc.name, ok, tc.want)
		}
		if ok && (string(tk.release) != "v1" || string(tk.instance) != "web.1") {
			t.Errorf("%s: read %q/%q, want v1/web.1", tc.name, tk.release, tk.instance)
		}
	}
}

func TestRouter_SetCookieSignsOncePerSecond(t *testing.T) {
	r := New(Config{AffinityKey: testKey, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(r.Close)
	p := &Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: "127.0.0.1:1"}, {ID: "web.2", Addr: "127.0.0.1:2"}}}
	r.SetLive(p)
	plain := httptest.NewRequest(http.MethodGet, "http://web.apps.test/", nil)
	tlsReq := httptest.NewRequest(http.MethodGet, "https://web.apps.test/", nil)
	tlsReq.TLS = &tls.ConnectionState{}
	set := func(req *http.Request, inst int, sec int64) string {
		w := httptest.NewRecorder()
		r.setCookie(w, req, "web", p, inst, sec)
		return w.Header().Get("Set-Cookie")
	}
	const sec = 1_700_000_000
	first := set(plain, 0, sec)
	if again := set(plain, 0, sec); again != first {
		t.Errorf("same instance and second: %q, then %q", first, again)
	}
	if secure := set(tlsReq, 0, sec); secure != first+"; Secure" {
		t.Errorf("over TLS: %q, want %q", secure, first+"; Secure")
	}
	if other := set(plain, 1, sec); other == first {
		t.Error("another instance got the same cookie")
	}
	if later := set(plain, 0, sec+1); later == first {
		t.Error("a second later, the cookie did not change")
	}
	if back := set(plain, 0, sec); back != first {
		t.Errorf("same second again: %q, want %q", back, first)
	}
}

func TestSecure(t *testing.T) {
	for _, tc := range []struct {
		tls   bool
		proto []string
		want  bool
	}{
		{false, nil, false},
		{true, nil, true},
		{false, []string{"https"}, true},
		{false, []string{"HTTPS"}, true},
		{false, []string{" https , http"}, true},
		{false, []string{"http"}, false},
		{false, []string{"http, https"}, false},
		{false, []string{""}, false},
	} {
		req := httptest.NewRequest(http.MethodGet, "http://web.apps.test/", nil)
		if tc.tls {
			req.TLS = &tls.ConnectionState{}
		}
		for _, v := range tc.proto {
			req.Header.Add("X-Forwarded-Proto", v)
		}
		if got := secure(req); got != tc.want {
			t.Errorf("TLS %v, X-Forwarded-Proto %q: secure = %v, want %v", tc.tls, tc.proto, got, tc.want)
		}
	}
}

func TestRouter_SetsAffinityCookie(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		v1 := pool(t, "web", "v1", 2)
		r.SetLive(v1)
		c := browser(t, srv)

		before := time.Now()
		res := visit(t, c, "web.apps.test", "/")
		ck := affinityCookie(t, res)
		if ck == nil {
			t.Fatalf("first response sets no affinity cookie; headers %v", res.header)
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
			t.Errorf("cookie %q: want HttpOnly, SameSite=Lax, Path=/ and not Secure over plain HTTP", ck.Raw)
		}
		for _, attr := range []string{"Domain", "Max-Age", "Expires"} {
			if strings.Contains(ck.Raw, attr) {
				t.Errorf("cookie %q has %s: want a host-only browser-session cookie", ck.Raw, attr)
			}
		}
		a := pinnedTo(t, "web", res)
		if got, want := "v1/"+a.Instance, res.body; a.Release != "v1" || got != want {
			t.Errorf("cookie pins to %+v, but %s answered", a, want)
		}
		if a.Issued.Before(before.Add(-2*time.Second)) || a.Issued.After(time.Now()) {
			t.Errorf("cookie issued at %v, want about %v", a.Issued, before)
		}
		raw, err := b64.DecodeString(ck.Value)
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range v1.Instances {
			if _, port, _ := strings.Cut(inst.Addr, ":"); strings.Contains(string(raw), port) || strings.Contains(ck.Value, port) {
				t.Errorf("cookie %q carries a backend port", ck.Value)
			}
		}

		// A fresh cookie is not set again.
		for range 3 {
			again := visit(t, c, "web.apps.test", "/")
			if again.body != res.body {
				t.Fatalf("pinned client went to %s, then %s", res.body, again.body)
			}
			if ck := affinityCookie(t, again); ck != nil {
				t.Fatalf("fresh cookie set again: %q", ck.Raw)
			}
		}

		for _, proto := range []string{"https", "HTTPS", "https, http"} {
			res := visit(t, browser(t, srv), "web.apps.test", "/", "X-Forwarded-Proto", proto)
			if ck := affinityCookie(t, res); ck == nil || !ck.Secure {
				t.Errorf("X-Forwarded-Proto %q: cookie %v, want Secure", proto, ck)
			}
		}
	})
}

func TestRouter_StaleCookieGoesLive(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		r.SetLive(pool(t, "web", "v1", 1))
		r.SetLive(pool(t, "web", "v2", 1))
		for _, tc := range []struct {
			age       time.Duration
			want      string // the instance that answers
			reissued  bool
			toRelease string
		}{
			{0, "v1/web.1", false, ""},
			{DefaultSessionTTL / 8, "v1/web.1", false, ""},
			{DefaultSessionTTL / 2, "v1/web.1", true, "v1"}, // re-issued, so the session does not expire while used
			{DefaultSessionTTL + time.Minute, "v2/web.1", true, "v2"},
			{24 * time.Hour, "v2/web.1", true, "v2"},
		} {
			issued := time.Now().Add(-tc.age)
			v := testCodec().Encode("web", Affinity{Release: "v1", Instance: "web.1", Issued: issued})
			res := visit(t, browser(t, srv), "web.apps.test", "/", "Cookie", CookieName+"="+v)
			if res.body != tc.want {
				t.Errorf("cookie %v old: went to %s, want %s", tc.age, res.body, tc.want)
			}
			ck := affinityCookie(t, res)
			if (ck != nil) != tc.reissued {
				t.Errorf("cookie %v old: new cookie %v, want one: %v", tc.age, ck, tc.reissued)
				continue
			}
			if ck != nil {
				// Issued now, by the router's coarse clock: not in the
				// future, and far later than the cookie it replaces.
				a := pinnedTo(t, "web", res)
				if a.Release != tc.toRelease || a.Issued.After(time.Now()) || !a.Issued.After(issued.Add(tc.age/2)) {
					t.Errorf("cookie %v old: re-issued as %+v, want %s issued now", tc.age, a, tc.toRelease)
				}
			}
		}
	})
}

func TestRouter_TamperedCookieGoesLive(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, logs := front(t)
		r.SetLive(pool(t, "web", "v1", 1))
		r.SetLive(pool(t, "web", "v2", 1))
		v := testCodec().Encode("web", Affinity{Release: "v1", Instance: "web.1", Issued: time.Now()})
		flipped := []byte(v)
		flipped[len(v)/2] ^= 'A' ^ 'B'
		for _, value := range []string{
			string(flipped),
			v[:len(v)-1],
			v + "A",
			"",
			"garbage",
			`"` + v,
			strings.Repeat("A", 4000),
			NewCodec([]byte("a key from another installation!"), 0).Encode("web", Affinity{Release: "v1", Instance: "web.1", Issued: time.Now()}),
		} {
			res := visit(t, browser(t, srv), "web.apps.test", "/", "Cookie", CookieName+"="+value)
			if res.code != http.StatusOK || res.body != "v2/web.1" {
				t.Errorf("cookie %q: got %d %q, want 200 from v2", value, res.code, res.body)
			}
			if a := pinnedTo(t, "web", res); a.Release != "v2" {
				t.Errorf("cookie %q: re-pinned to %+v, want v2", value, a)
			}
		}
		if strings.Contains(logs.String(), "level=ERROR") || strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("bad cookies were logged as problems:\n%s", logs)
		}
	})
}

func TestRouter_IgnoresCookieOfAnotherApp(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		for _, app := range []string{"web", "api"} {
			r.SetLive(pool(t, app, "v1", 1))
			r.SetLive(pool(t, app, "v2", 1))
		}
		codec := testCodec()
		api := codec.Encode("api", Affinity{Release: "v1", Instance: "web.1", Issued: time.Now()})
		web := codec.Encode("web", Affinity{Release: "v1", Instance: "web.1", Issued: time.Now()})

		if got := visit(t, browser(t, srv), "web.apps.test", "/", "Cookie", CookieName+"="+api).body; got != "v2/web.1" {
			t.Errorf("web with api's cookie went to %s, want v2", got)
		}
		// Another app may set a cookie of the same name for the whole domain;
		// the browser then sends both.
		both := CookieName + "=" + api + "; " + CookieName + "=" + web
		if got := visit(t, browser(t, srv), "web.apps.test", "/", "Cookie", both).body; got != "v1/web.1" {
			t.Errorf("web with api's and its own cookie went to %s, want v1", got)
		}
	})
}

func TestRouter_ServesPoolWithIDsTooLongForACookie(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, logs := front(t)
		r.SetLive(&Pool{App: "web", Release: strings.Repeat("v", maxFieldLen+1), Instances: []*Instance{instance("web.1", backend(t, "web", nil, nil))}})
		res := visit(t, browser(t, srv), "web.apps.test", "/")
		if res.code != http.StatusOK || affinityCookie(t, res) != nil {
			t.Errorf("got %d with cookie %v, want 200 without a cookie", res.code, affinityCookie(t, res))
		}
		if !strings.Contains(logs.String(), "too long for an affinity cookie") {
			t.Errorf("no warning logged:\n%s", logs)
		}
	})
}
