package router

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// site writes a static site with a secret file and symlinks next to it and
// returns the site's directory.
func site(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "site")
	for name, body := range map[string]string{
		"secret.txt":           "secret",
		"site/index.html":      "home",
		"site/style.css":       "css",
		"site/docs/index.html": "docs",
		"site/empty/data.txt":  "data",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"leak":    "../secret.txt",
		"leakdir": dir,
		"inner":   "style.css",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestRouter_StaticServesIndexAndFiles(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		pool := &Pool{App: "www", Release: "v1", StaticDir: site(t)}
		r.SetLive(pool)

		for path, want := range map[string]string{
			"/":               "home",
			"/docs/":          "docs",
			"/style.css":      "css",
			"/inner":          "css", // a symlink inside the site is fine
			"/empty/data.txt": "data",
		} {
			res := get(t, c, srv, "www.apps.test", path)
			if res.code != http.StatusOK || res.body != want {
				t.Errorf("GET %s: got %d %q, want 200 %q", path, res.code, res.body, want)
			}
		}
		if got := r.InFlight(pool); got != 0 {
			t.Errorf("InFlight = %d after static requests, want 0", got)
		}
	})
}

func TestRouter_StaticRefusesListingAndEscapes(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		r.SetLive(&Pool{App: "www", Release: "v1", StaticDir: site(t)})

		for _, path := range []string{
			"/empty/",
			"/empty",
			"/../secret.txt",
			"/%2e%2e/secret.txt",
			"/docs/../../secret.txt",
			"/leak",
			"/leakdir/secret.txt",
			"/leakdir/",
		} {
			res := get(t, c, srv, "www.apps.test", path)
			if res.code != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", path, res.code)
			}
			if strings.Contains(res.body, "secret") || strings.Contains(res.body, "data.txt") {
				t.Errorf("GET %s: leaked %q", path, res.body)
			}
		}
	})
}

func TestRouter_StaticMissingDirGets503(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, logs := front(t)
		r.SetLive(&Pool{App: "www", Release: "v1", StaticDir: filepath.Join(t.TempDir(), "gone")})
		if res := get(t, client(t), srv, "www.apps.test", "/"); res.code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", res.code)
		}
		if !strings.Contains(logs.String(), "static pool unusable") {
			t.Errorf("no log line for the missing directory:\n%s", logs)
		}
	})
}
