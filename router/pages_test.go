package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPages_EscapeAndSayWhat(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(http.ResponseWriter)
		code  int
		want  string
	}{
		{"not found", func(w http.ResponseWriter) { writeNotFound(w, "<script>x</script>", "") }, 404,
			"No app named <b>&lt;script&gt;x&lt;/script&gt;</b> here."},
		{"no app at host", func(w http.ResponseWriter) { writeNotFound(w, "", "<i>.example") }, 404,
			"No app is served at <b>&lt;i&gt;.example</b>."},
		{"unavailable", func(w http.ResponseWriter) { writeUnavailable(w, "a&b") }, 503,
			"<b>a&amp;b</b> has no running instance right now."},
		{"bad gateway", func(w http.ResponseWriter) { writeBadGateway(w, "web") }, 502,
			"<b>web</b> did not answer."},
	} {
		w := httptest.NewRecorder()
		tc.write(w)
		if w.Code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.code)
		}
		body := w.Body.String()
		if !strings.Contains(body, tc.want) {
			t.Errorf("%s: page %q does not contain %q", tc.name, body, tc.want)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "<i>") {
			t.Errorf("%s: page %q has unescaped markup", tc.name, body)
		}
		if got, want := w.Header().Get("Content-Type"), "text/html; charset=utf-8"; got != want {
			t.Errorf("%s: Content-Type %q, want %q", tc.name, got, want)
		}
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", tc.name, got)
		}
		if hasRetry := w.Header().Get("Retry-After") != ""; hasRetry != (tc.code == 503) {
			t.Errorf("%s: Retry-After %q", tc.name, w.Header().Get("Retry-After"))
		}
	}
}
