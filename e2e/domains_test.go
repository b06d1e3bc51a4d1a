package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// An app's own domains route to it as soon as they are added, exact names
// before wildcards, survive a restart, and stop routing when removed; a
// domain belongs to one app at most.
func TestDomains_RouteAddRemoveAndSurviveARestart(t *testing.T) {
	s := startServer(t)
	shop := s.newApp(staticApp("shop v1"))
	s.mustGit(shop, "push", s.remote("shop"), "main")
	blog := s.newApp(staticApp("blog v1"))
	s.mustGit(blog, "push", s.remote("blog"), "main")

	out, err := s.ssh(s.key, "domains:add", "shop", "Shop.Example.com", "'*.example.com'")
	if err != nil || !strings.Contains(out, "Added shop.example.com to shop") || !strings.Contains(out, "Added *.example.com to shop") {
		t.Fatalf("domains:add: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "domains:add", "blog", "blog.example.com", "shop.example.com"); err == nil || !strings.Contains(out, "belongs to app shop") {
		t.Errorf("adding shop's domain to blog: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "domains:add", "blog", "blog.example.com"); err != nil {
		t.Fatalf("domains:add blog: %v\n%s", err, out)
	}
	for _, bad := range []string{"https://x.example.com", "10.0.0.1", "other." + testDomain, "'*." + testDomain + "'"} {
		if out, err := s.ssh(s.key, "domains:add", "blog", bad); err == nil || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("domains:add blog %s: %v, want a one-line refusal\n%s", bad, err, out)
		}
	}
	want := map[string]string{
		"shop.example.com":   "hello from shop v1",
		"blog.example.com":   "hello from blog v1", // exact before the wildcard
		"www.example.com":    "hello from shop v1",
		"shop." + testDomain: "hello from shop v1",
	}
	for host, body := range want {
		if code, got := s.getHost(host, "/"); code != http.StatusOK || !strings.Contains(got, body) {
			t.Errorf("GET %s = %d %q, want %q", host, code, got, body)
		}
	}
	if out, _ := s.ssh(s.key, "domains", "shop"); out != "shop."+testDomain+" (default)\n*.example.com\nshop.example.com\n" {
		t.Errorf("domains shop:\n%s", out)
	}
	if out, _ := s.ssh(s.key, "apps:info", "shop"); !strings.Contains(out, "shop."+testDomain+" *.example.com shop.example.com") {
		t.Errorf("apps:info lacks the domains:\n%s", out)
	}

	s.stop()
	s.start()
	if code, got := s.getHost("shop.example.com", "/"); code != http.StatusOK || !strings.Contains(got, "shop v1") {
		t.Errorf("after a restart GET shop.example.com = %d %q", code, got)
	}
	if out, err := s.ssh(s.key, "domains:remove", "shop", "'*.example.com'"); err != nil {
		t.Fatalf("domains:remove: %v\n%s", err, out)
	}
	if code, _ := s.getHost("www.example.com", "/"); code != http.StatusNotFound {
		t.Errorf("a removed wildcard still routes: %d", code)
	}
	if out, err := s.ssh(s.key, "domains:clear", "shop"); err != nil {
		t.Fatalf("domains:clear: %v\n%s", err, out)
	}
	if code, _ := s.getHost("shop.example.com", "/"); code != http.StatusNotFound {
		t.Errorf("a cleared domain still routes: %d", code)
	}
	if code, got := s.getHost("shop."+testDomain, "/"); code != http.StatusOK || !strings.Contains(got, "shop v1") {
		t.Errorf("the default name went with the clear: %d %q", code, got)
	}
}
