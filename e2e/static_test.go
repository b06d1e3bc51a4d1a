package e2e

import (
	"testing"
)

// A page of a static site's v1 gets its assets from v1 after v2 goes
// live: the affinity cookie holds for static sites too, so a browser
// never mixes two releases' files. A new visitor gets v2, with clean URLs
// and the site's 404.html.
func TestStatic_APageKeepsItsReleaseAcrossADeploy(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(map[string]string{
		"index.html":       `<script src="main.aaaa1111.js"></script>v1`,
		"main.aaaa1111.js": "v1 js",
		"about.html":       "about v1",
		"404.html":         "no such page",
	})
	s.mustGit(dir, "push", s.remote("site"), "main")
	visitor := newClient(t)
	if code, body := s.getWith(visitor, "site", "/"); code != 200 || body != `<script src="main.aaaa1111.js"></script>v1` {
		t.Fatalf("GET / = %d %q", code, body)
	}
	s.mustGit(dir, "rm", "-q", "main.aaaa1111.js")
	s.commit(dir, "v2", map[string]string{
		"index.html":       `<script src="main.bbbb2222.js"></script>v2`,
		"main.bbbb2222.js": "v2 js",
	})
	s.mustGit(dir, "push", s.remote("site"), "main")

	if code, body := s.getWith(visitor, "site", "/main.aaaa1111.js"); code != 200 || body != "v1 js" {
		t.Errorf("v1's page asked for its asset after the switch: %d %q, want v1's", code, body)
	}
	fresh := newClient(t)
	if code, body := s.getWith(fresh, "site", "/"); code != 200 || body != `<script src="main.bbbb2222.js"></script>v2` {
		t.Errorf("a new visitor got %d %q, want v2", code, body)
	}
	if code, body := s.getWith(fresh, "site", "/about"); code != 200 || body != "about v1" {
		t.Errorf("GET /about = %d %q, want about.html", code, body)
	}
	if code, body := s.getWith(fresh, "site", "/main.aaaa1111.js"); code != 404 || body != "no such page" {
		t.Errorf("v2 serves v1's asset to a new visitor: %d %q", code, body)
	}
}
