package router

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRouter_DomainsRouteExactBeforeWildcard(t *testing.T) {
	r := New(Config{Domain: "apps.test"})
	t.Cleanup(r.Close)
	r.SetDomains("shop", []string{"shop.example.com", "*.example.com"})
	r.SetDomains("blog", []string{"blog.example.com", "*.eu.example.com"})
	for host, want := range map[string]string{
		"shop.apps.test":       "shop",
		"Shop.Example.com:443": "shop",
		"blog.example.com.":    "blog",
		"anything.example.com": "shop",
		"a.b.example.com":      "shop",
		"x.eu.example.com":     "blog", // the closest wildcard
		"eu.example.com":       "shop",
		"example.com":          "",
		"shop.example.org":     "",
		"deep.shop.apps.test":  "",
		"[::1]:80":             "",
	} {
		got, ok := r.appName(host)
		if got != want || ok != (want != "") {
			t.Errorf("appName(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
	r.SetDomains("shop", []string{"shop.example.com"})
	if got, ok := r.appName("anything.example.com"); ok {
		t.Errorf("a removed wildcard still routes to %s", got)
	}
	r.SetDomains("shop", nil)
	if got, ok := r.appName("shop.example.com"); ok {
		t.Errorf("a cleared domain still routes to %s", got)
	}
	if got, ok := r.appName("blog.example.com"); !ok || got != "blog" {
		t.Errorf("another app's domain went with it: %q %v", got, ok)
	}
	if !r.Owns("blog.example.com") || r.Owns("shop.example.com") || r.Owns("nope.apps.test") {
		t.Error("Owns disagrees with the domains")
	}
}

func TestRouter_OwnsExactIsWhatMayGetACertificate(t *testing.T) {
	r := New(Config{Domain: "apps.example.com"})
	t.Cleanup(r.Close)
	r.SetLive(&Pool{App: "shop", Release: "v1", StaticDir: t.TempDir()})
	r.SetDomains("shop", []string{"shop.example.org", "*.example.org"})
	for host, want := range map[string]bool{
		"shop.example.org":      true,
		"www.example.org":       false, // a wildcard needs DNS-01
		"shop.apps.example.com": true,
		"nope.apps.example.com": false, // no such app
	} {
		if got := r.OwnsExact(host, true); got != want {
			t.Errorf("OwnsExact(%q, defaults) = %v, want %v", host, got, want)
		}
	}
	if r.OwnsExact("shop.apps.example.com", false) {
		t.Error("a default name owned without defaults (a private --domain)")
	}
}

func TestRouter_MaintenanceAnswers503WithThePage(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "app") }))
		r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{instance("web.1", app)}})
		c := browser(t, srv)
		get := func() (int, string, string) {
			res := visit(t, c, "web."+testDomain, "/")
			return res.code, res.body, res.header.Get("Retry-After")
		}
		r.SetMaintenance("web", true, []byte("<h1>back soon</h1>"))
		if code, body, retry := get(); code != http.StatusServiceUnavailable || body != "<h1>back soon</h1>" || retry == "" {
			t.Errorf("in maintenance: %d %q Retry-After %q", code, body, retry)
		}
		r.SetMaintenance("web", true, nil)
		if code, body, _ := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "down for maintenance") {
			t.Errorf("in maintenance without a page: %d %q", code, body)
		}
		r.SetMaintenance("web", false, nil)
		if code, body, _ := get(); code != http.StatusOK || body != "app" {
			t.Errorf("out of maintenance: %d %q", code, body)
		}
	})
}
