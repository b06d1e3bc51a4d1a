package router

import (
	"strings"
	"testing"
)

// What a client sends that nginx cleans at the edge, the router cleans on
// every path: the lean server's plain GET, the router's own path (a small
// body) and ReverseProxy (a chunked body).
func TestRouter_DropsHeaderNamesWithUnderscores(t *testing.T) {
	r, _, srv := routerFor(t)
	app := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
	r.SetLive(&Pool{App: "web", Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: app.addr()}}})
	lies := "X_Forwarded_For: 6.6.6.6\r\nx_forwarded_proto: https\r\nX_Forwarded_Host: evil.test\r\nTrue_Client_IP: 6.6.6.6\r\nX_Real_IP: 6.6.6.6\r\nX-Kept_Not: 1\r\nX-Kept: k\r\n"
	for name, req := range map[string]string{
		"plain GET":    "GET / HTTP/1.1\r\nHost: web.apps.test\r\n" + lies + "\r\n",
		"small body":   "POST / HTTP/1.1\r\nHost: web.apps.test\r\n" + lies + "Content-Length: 2\r\n\r\nhi",
		"chunked body": "POST / HTTP/1.1\r\nHost: web.apps.test\r\n" + lies + "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		"HTTP/1.0":     "GET / HTTP/1.0\r\nHost: web.apps.test\r\n" + lies + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, sent := rawExchange(t, srv, req, app)
			if !strings.Contains(got, "200 OK") {
				t.Fatalf("client got %q", got)
			}
			head, _, _ := strings.Cut(sent, "\n\n")
			for line := range strings.SplitSeq(head, "\n") {
				if k, _, ok := strings.Cut(line, ":"); ok && strings.Contains(k, "_") {
					t.Errorf("the app got %q", line)
				}
			}
			for _, want := range []string{"X-Kept: k", "X-Forwarded-For: 127.0.0.1", "X-Forwarded-Proto: http", "X-Forwarded-Host: web.apps.test"} {
				if !strings.Contains(head, want) {
					t.Errorf("the app's head lacks %q:\n%s", want, head)
				}
			}
			if n := strings.Count(head, "X-Forwarded-For"); n != 1 {
				t.Errorf("the app got %d X-Forwarded-For lines, want 1:\n%s", n, head)
			}
		})
	}
}
