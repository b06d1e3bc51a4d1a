package router

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fetch sends a GET with headers through the front server, as a browser
// would, without the client's own decompression.
func fetch(t *testing.T, srv *httptest.Server, host, path string, headers map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{code: res.StatusCode, header: res.Header, body: string(b)}
}

// A static site is served as its author expects: clean URLs, its own
// 404.html, validators and 304, a year's caching for hashed asset names,
// gzip as it goes and precompressed copies when they are there.
func TestRouter_StaticSiteAsAUserExpects(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		dir := t.TempDir()
		css := strings.Repeat("body { color: black; }\n", 100)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte("precompressed text"))
		zw.Close()
		for name, body := range map[string]string{
			"index.html": "home", "about.html": "about page", "404.html": "not here",
			"docs/index.html": "docs", "main.3f2a9c1b.js": "js", "app.css": css,
			"notes.txt": "precompressed text", "notes.txt.gz": gz.String(),
		} {
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r.SetLive(&Pool{App: "www", Release: "v1", StaticDir: dir})
		const host = "www.apps.test"

		if res := fetch(t, srv, host, "/about", nil); res.code != 200 || res.body != "about page" {
			t.Errorf("GET /about = %d %q, want about.html", res.code, res.body)
		}
		if res := fetch(t, srv, host, "/docs", nil); res.code != http.StatusMovedPermanently || res.header.Get("Location") != "/docs/" {
			t.Errorf("GET /docs = %d to %q, want a redirect to docs/", res.code, res.header.Get("Location"))
		}
		if res := fetch(t, srv, host, "/docs/", nil); res.code != 200 || res.body != "docs" {
			t.Errorf("GET /docs/ = %d %q", res.code, res.body)
		}
		if res := fetch(t, srv, host, "/nope", nil); res.code != http.StatusNotFound || res.body != "not here" {
			t.Errorf("GET /nope = %d %q, want 404 with 404.html", res.code, res.body)
		}

		res := fetch(t, srv, host, "/about", nil)
		etag := res.header.Get("ETag")
		if etag == "" || res.header.Get("Last-Modified") == "" || res.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET /about headers = %v, want ETag, Last-Modified and Cache-Control: no-cache", res.header)
		}
		if res := fetch(t, srv, host, "/about", map[string]string{"If-None-Match": etag}); res.code != http.StatusNotModified {
			t.Errorf("GET /about with its ETag = %d, want 304", res.code)
		}
		if res := fetch(t, srv, host, "/main.3f2a9c1b.js", nil); !strings.Contains(res.header.Get("Cache-Control"), "immutable") {
			t.Errorf("a hashed asset's Cache-Control = %q, want a year, immutable", res.header.Get("Cache-Control"))
		}

		res = fetch(t, srv, host, "/app.css", map[string]string{"Accept-Encoding": "gzip"})
		if res.header.Get("Content-Encoding") != "gzip" || gunzip(t, res.body) != css {
			t.Errorf("GET /app.css with gzip: encoding %q", res.header.Get("Content-Encoding"))
		}
		if res := fetch(t, srv, host, "/app.css", nil); res.header.Get("Content-Encoding") != "" || res.body != css {
			t.Errorf("GET /app.css without gzip: encoding %q", res.header.Get("Content-Encoding"))
		}
		res = fetch(t, srv, host, "/notes.txt", map[string]string{"Accept-Encoding": "br;q=0, gzip"})
		if res.header.Get("Content-Encoding") != "gzip" || res.body != gz.String() || !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") {
			t.Errorf("GET /notes.txt with gzip = %v, want notes.txt.gz as it is", res.header)
		}
	})
}

func gunzip(t *testing.T, s string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
