package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

// hungryApp answers GET /eat by allocating 256 MiB, GET /bomb by forking
// 200 children and GET /threads by starting 1,500 threads, each saying how
// many it got, and GET /fill by writing its HOME full, saying how many
// bytes it wrote and what stopped it.
func hungryApp() map[string]string {
	return map[string]string{
		"Procfile": "web: python3 app.py\n",
		"app.py": `import os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"fed"
        if self.path == "/eat":
            global food
            food = bytearray(256 << 20)
        if self.path == "/threads":  # the pids limit counts threads too, and they start fast
            import threading
            stop, started = threading.Event(), []
            for _ in range(1500):
                try:
                    t = threading.Thread(target=stop.wait)
                    t.start()
                    started.append(t)
                except RuntimeError:
                    break
            stop.set()
            for t in started:
                t.join()
            body = b"forked %d" % len(started)
        if self.path == "/fill":
            n, why = 0, "nothing"
            try:
                with open(os.path.join(os.environ["HOME"], "fill"), "wb", buffering=0) as f:
                    chunk = b"x" * (1 << 20)
                    while n < (1 << 30):
                        n += f.write(chunk)
            except OSError as e:
                why = e.strerror
            body = b"filled %d: %s" % (n, why.encode())
        if self.path == "/bomb":
            n = 0
            for _ in range(200):
                try:
                    if os.fork() == 0:
                        time.sleep(1)
                        os._exit(0)
                    n += 1
                except OSError:
                    pass
            for _ in range(n):  # the children end: the app has its processes back
                os.wait()
            body = b"forked %d" % n
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

// Resource limits hold for an app's processes: a memory limit kills a
// hungry instance, which ps and the app's log then report, and the
// supervisor restarts it.
func TestResources_MemoryLimitKillsAndIsReported(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("limits need slipway to run as root")
	}
	s := startServer(t)
	s.mustGit(s.newApp(hungryApp()), "push", s.remote("hungry"), "main")
	out, err := s.ssh(s.key, "resources:set", "hungry", "--process", "web", "memory=64M", "pids=64")
	if err != nil || !strings.Contains(out, "memory=64M pids=64") {
		t.Fatalf("resources:set: %v\n%s", err, out)
	}
	if out, _ := s.ssh(s.key, "resources", "hungry"); !strings.Contains(out, "web") || !strings.Contains(out, "memory=64M") {
		t.Errorf("resources:\n%s", out)
	}
	if out, err := s.ssh(s.key, "ps:restart", "hungry"); err != nil {
		t.Fatalf("ps:restart: %v\n%s", err, out)
	}
	s.get("hungry", "/eat") // the instance dies answering: a 502 or a reset
	waitFor(t, "the app's log to report the kill", func() bool {
		logs, _ := s.ssh(s.key, "logs", "hungry", "-n", "20")
		return strings.Contains(logs, "slipway: web.1 was killed: out of memory (limit 64M)")
	})
	waitFor(t, "the instance to be restarted", func() bool {
		ps, _ := s.ssh(s.key, "ps", "hungry")
		return strings.Contains(ps, " up (last exit: was killed: out of memory (limit 64M))") && strings.Contains(ps, "  1\n")
	})
	s.wantServes("hungry", "/", "fed")
	// The pids limit holds the instance to 64 processes: a fork bomb
	// gets a few dozen, not 200.
	if out, err := s.ssh(s.key, "resources:unset", "hungry", "--process", "web", "memory"); err != nil || !strings.Contains(out, "pids=64") {
		t.Fatalf("resources:unset memory: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "ps:restart", "hungry"); err != nil {
		t.Fatalf("ps:restart: %v\n%s", err, out)
	}
	_, body := s.get("hungry", "/bomb")
	var forked int
	if _, err := fmt.Sscanf(body, "forked %d", &forked); err != nil || forked >= 64 {
		t.Errorf("the fork bomb answered %q: want fewer than 64 processes", body)
	}
	s.wantServes("hungry", "/", "fed")
	if out, err := s.ssh(s.key, "resources:unset", "hungry", "--process", "web", "pids"); err != nil || !strings.Contains(out, "none") {
		t.Errorf("resources:unset: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "resources:set", "hungry", "memory=lots"); err == nil || !strings.Contains(out, "want a size of at least 4M") {
		t.Errorf("a bad limit: %v\n%s", err, out)
	}
}

// With no limits set, an app's process still may not run more than
// slipway.DefaultPIDs processes and threads: 1,500 threads (which the
// limit counts as it counts processes, and which start faster than forks)
// stop there, and the app and slipway go on serving.
func TestResources_ForkBombStopsAtTheDefaultPIDs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("limits need slipway to run as root")
	}
	s := startServer(t)
	s.mustGit(s.newApp(hungryApp()), "push", s.remote("bomb"), "main")
	_, body := s.get("bomb", "/threads")
	var forked int
	if _, err := fmt.Sscanf(body, "forked %d", &forked); err != nil || forked >= slipway.DefaultPIDs {
		t.Errorf("the fork bomb answered %q: want fewer than %d processes", body, slipway.DefaultPIDs)
	}
	s.wantServes("bomb", "/", "fed")
	if out, _ := s.ssh(s.key, "resources", "bomb"); !strings.Contains(out, fmt.Sprintf("pids=%d", slipway.DefaultPIDs)) {
		t.Errorf("resources does not say the default:\n%s", out)
	}
}

// Nothing an app starts outlives it: not a build's detached child when
// the push is rejected, not an instance's when the app is destroyed.
func TestResources_NoProcessOutlivesItsApp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroups need slipway to run as root")
	}
	s := startServer(t)
	bad := staticApp("v1")
	bad["app.json"] = `{"scripts":{"build":"setsid sleep 3131 & exit 1"}}`
	if out, err := s.git(s.newApp(bad), "push", s.remote("leaky"), "main"); err == nil {
		t.Fatalf("the failing build was accepted:\n%s", out)
	}
	if s.running("3131") {
		t.Error("the rejected build's detached child still runs")
	}
	app := staticApp("v1")
	app["Procfile"] = "web: setsid sleep 3132 & exec python3 -m http.server --bind 127.0.0.1 $PORT\n"
	s.mustGit(s.newApp(app), "push", s.remote("leaky"), "main")
	waitFor(t, "the instance's detached child to start", func() bool { return s.running("3132") })
	if out, err := s.ssh(s.key, "apps:destroy", "leaky", "--confirm", "leaky"); err != nil {
		t.Fatalf("apps:destroy: %v\n%s", err, out)
	}
	if s.running("3132") {
		t.Error("the destroyed app's detached child still runs")
	}
}
