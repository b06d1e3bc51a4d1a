package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// keepAliveApp is a typical small app: Python's http.server speaking
// HTTP/1.1 with keep-alive, which, like most, never reads a GET's body. It
// answers with the path and the Cookie header it got; /overrun sends more
// than its Content-Length declares, a whole response of its own after it;
// paths under /slow/ take a tenth of a second, as a page with a query does.
func keepAliveApp() map[string]string {
	return map[string]string{
		"Procfile": "web: python3 app.py\n",
		"app.py": `import os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/slow/"):
            time.sleep(0.1)
        body = ("path=%s cookie=%s" % (self.path, self.headers.get("Cookie", ""))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.path == "/overrun":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nPOISON")
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
	}
}

// rawClient is one client's keep-alive connection to the router.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (s *server) rawClient(t *testing.T) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.httpAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends raw, a GET, and returns the body of the response.
func (c *rawClient) do(raw string) string {
	c.t.Helper()
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatal(err)
	}
	res, err := http.ReadResponse(c.br, &http.Request{Method: http.MethodGet})
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// The poisoning sequence of issue 23, and its app-side variant, 100 rounds
// each: no client ever gets another's answer.
func TestRouter_NoClientGetsAnothersResponse(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(keepAliveApp())
	s.mustGit(dir, "push", s.remote("shop"), "main")
	host := "shop." + testDomain
	// The smuggled request is answered at once, or (every other round)
	// after the router has handed the attacker its answer: the victim's
	// request then goes out on the connection before the answer arrives.
	attacks := [2]string{}
	for i, path := range []string{"/smuggled", "/slow/smuggled"} {
		smuggled := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
		attacks[i] = fmt.Sprintf("GET /a HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", host, len(smuggled), smuggled)
	}
	victimReq := "GET /account HTTP/1.1\r\nHost: " + host + "\r\nCookie: session=VICTIM\r\n\r\n"
	victimWant := "path=/account cookie=session=VICTIM"

	attacker, victim := s.rawClient(t), s.rawClient(t)
	wrong := 0
	for round := range 100 {
		if got := attacker.do(attacks[round%2]); !strings.HasPrefix(got, "path=/a ") {
			t.Errorf("round %d: the attacker got %q for its own request", round, got)
			wrong++
		}
		if got := victim.do(victimReq); got != victimWant {
			t.Errorf("round %d: the victim got %q, want %q", round, got, victimWant)
			wrong++
		}
		if got := attacker.do("GET /again HTTP/1.1\r\nHost: " + host + "\r\n\r\n"); got != "path=/again cookie=" {
			t.Errorf("round %d: the attacker got %q for /again", round, got)
			wrong++
		}
		if wrong > 5 {
			t.Fatal("too many wrong answers")
		}
	}

	// The app's side: it sends a response nobody asked for after the one
	// it declared.
	other := s.rawClient(t)
	for round := range 100 {
		if got := other.do("GET /overrun HTTP/1.1\r\nHost: " + host + "\r\n\r\n"); got != "path=/overrun cookie=" {
			t.Errorf("round %d: /overrun answered %q", round, got)
			wrong++
		}
		if got := victim.do(victimReq); got != victimWant {
			t.Errorf("round %d: after an overrun, the victim got %q, want %q", round, got, victimWant)
			wrong++
		}
		if wrong > 5 {
			t.Fatal("too many wrong answers")
		}
	}
	// The app's extra responses were seen and counted, never delivered.
	if m := s.metrics(); !strings.Contains(m, `slipway_proxy_errors_total{kind="unsolicited_response"}`) ||
		strings.Contains(m, `slipway_proxy_errors_total{kind="unsolicited_response"} 0`) {
		t.Errorf("/metrics does not count the unsolicited responses:\n%s", grepLines(m, "slipway_proxy_errors_total"))
	}
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// metrics returns the text of the admin listener's /metrics.
func (s *server) metrics() string {
	s.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get("http://" + s.adminAddr + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
