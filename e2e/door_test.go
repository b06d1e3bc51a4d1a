package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// flooderApp is a web app that, on GET /flood?port=P&n=N, opens N
// connections to port P on this host, each from another loopback
// address (127.0.77.1 on), holds the ones that connect, and answers with
// how many did: what a hostile app does to lock its operator out.
func flooderApp() map[string]string {
	return map[string]string{
		"Procfile": "web: python3 app.py\n",
		"app.py": `import json, os, socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

held = []

def flood(port, n):
    ok = 0
    for i in range(n):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.bind(("127.0.77.%d" % (1 + i % 250), 0))
            s.connect(("127.0.0.1", port))
            held.append(s)
            ok += 1
        except OSError:
            s.close()
    return ok

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/flood":
            q = parse_qs(u.query)
            body = json.dumps({"connected": flood(int(q["port"][0]), int(q["n"][0]))}).encode()
        else:
            body = b"flooder"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
	}
}

// port returns the port of a host:port address.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// appFloods has the flooder app open n connections to addr's port and
// returns how many connected.
func (s *server) appFloods(addr string, n int) int {
	s.t.Helper()
	code, body := s.get("flooder", fmt.Sprintf("/flood?port=%s&n=%d", port(addr), n))
	var out struct{ Connected int }
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil {
		s.t.Fatalf("GET /flood = %d %q", code, body)
	}
	return out.Connected
}

// localCLI runs `slipway ARGS` as the operator on the host does: no
// address given, so over DATA/run/admin.sock.
func (s *server) localCLI(ctx context.Context, args ...string) ([]byte, error) {
	cli := exec.CommandContext(ctx, slipwayBin, args...)
	cli.Env = append(os.Environ(), "SLIPWAY_ADMIN_ADDR=", "SLIPWAY_DATA="+s.dataDir, "SLIPWAY_ADMIN_TOKEN=")
	return cli.CombinedOutput()
}

// operatorAnswered checks, three times over, that the operator still gets
// answers within 2 s: the local CLI (over DATA/run/admin.sock, no
// address given), ssh from 127.0.0.1, and the admin page over TCP from
// 127.0.0.1.
func (s *server) operatorAnswered(what string) {
	s.t.Helper()
	for round := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		out, err := s.localCLI(ctx, "apps:list")
		if err != nil || !strings.Contains(string(out), "flooder") {
			s.t.Errorf("%s, round %d: the operator's slipway apps:list: %v\n%s", what, round, err, out)
		}
		if out, err := s.sshContext(ctx, s.key, "apps:list"); err != nil || !strings.Contains(out, "flooder") {
			s.t.Errorf("%s, round %d: ssh apps:list: %v\n%s", what, round, err, out)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.adminAddr+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err != nil {
			s.t.Errorf("%s, round %d: the admin page over TCP: %v", what, round, err)
		} else {
			resp.Body.Close()
		}
		cancel()
	}
}

// An app cannot lock its operator out: as root, its connections to
// slipway's ssh and admin listeners are refused (the owner-match rule);
// a flood from outside, from a hundred addresses of one network, only
// displaces its own network's connections; and the local CLI reaches
// the admin API over its unix socket whatever TCP holds.
func TestDoor_TheOperatorGetsInWhileAppsAndNeighboursFlood(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the rule that keeps apps off needs root: TestDoor_AsUnprivileged covers this user")
	}
	testutil.NeedTool(t, "iptables", "iptables", "/usr/sbin/iptables")
	s := startServer(t)
	if !strings.Contains(s.logText(), "apps kept off slipway's own listeners") {
		t.Fatalf("slipway did not keep the apps off its listeners:\n%s", s.logText())
	}
	s.mustGit(s.newApp(flooderApp()), "push", s.remote("flooder"), "main")
	if n := s.appFloods(s.sshAddr, 200); n != 0 {
		t.Errorf("the app connected %d times to slipway's ssh listener", n)
	}
	if n := s.appFloods(s.adminAddr, 100); n != 0 {
		t.Errorf("the app connected %d times to slipway's admin listener", n)
	}
	// The floods, from outside the apps: 400 idle connections to
	// ssh from 100 addresses, 300 to the admin page from 30.
	for i := range 100 {
		dialFrom(t, fmt.Sprintf("127.0.78.%d", i+1), s.sshAddr, 4)
	}
	for i := range 30 {
		dialFrom(t, fmt.Sprintf("127.0.79.%d", i+1), s.adminAddr, 10)
	}
	s.operatorAnswered("while one network floods")
	// Many networks together: the admin page's TCP total is theirs, the
	// unix socket is not.
	var many []net.Conn
	for i := range 80 {
		many = append(many, dialFrom(t, fmt.Sprintf("127.1.%d.1", i), s.adminAddr, 1)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if out, err := s.localCLI(ctx, "apps:list"); err != nil || !strings.Contains(string(out), "flooder") {
		t.Errorf("the CLI over the unix socket while 80 networks fill the admin page: %v\n%s", err, out)
	}
	if n := stillOpen(many); n > 64 {
		t.Errorf("%d connections from 80 networks are open on the admin page, more than its total of 64", n)
	}
}

// Without root the apps share slipway's user, so no rule can tell their
// connections apart: an app's flood from loopback addresses of one
// network still only displaces its own, and the CLI's unix socket is
// out of its reach.
func TestDoor_AsUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the test needs root to start slipway as another, unprivileged user")
	}
	s := startServerAs(t, unprivilegedUID)
	s.mustGit(s.newApp(flooderApp()), "push", s.remote("flooder"), "main")
	if n := s.appFloods(s.sshAddr, 200); n == 0 {
		t.Fatal("the app could not connect to ssh at all: the test proves nothing")
	}
	s.appFloods(s.adminAddr, 100)
	s.operatorAnswered("while an app floods")
}
