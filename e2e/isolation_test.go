package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// hostileApp is a small web shell: GET /attack tries, from inside the app,
// what an attacker who pushed it would try against slipway and against
// another app, and answers with the outcome of each attempt. Its build
// tries the same from the build, and leaves its findings for /build.
func hostileApp() map[string]string {
	return map[string]string{
		"Procfile": "web: python3 app.py\n",
		"app.json": `{"scripts": {"build": "python3 attack.py build > build-report.json"}}`,
		"app.py": `import os, subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/attack":
            body = subprocess.run(["python3", "attack.py", "run"], capture_output=True).stdout
        elif self.path == "/build":
            body = open("build-report.json", "rb").read()
        else:
            body = b"hostile"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
		"attack.py": `import glob, json, os, signal, socket, sys

E = os.environ
D = E.get("DATA_DIR", "")
r = {}

def attempt(name, fn):
    try:
        fn()
        r[name] = "done"
    except Exception as e:
        r[name] = "refused: " + type(e).__name__

def read(path):
    with open(path, "rb") as f:
        f.read(1)

def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)

def found(marker, paths):
    for p in paths:
        try:
            if marker.encode() in open(p, "rb").read():
                return "done"
        except Exception:
            pass
    return "refused: not found"

def bind(port):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.close()

for name in ["admin_token", "affinity.key", "ssh_host_ed25519_key", "slipway.db", "authorized_keys"]:
    attempt("read " + name, lambda: read(os.path.join(D, name)))
attempt("list the data dir", lambda: os.listdir(D))
attempt("append a key to authorized_keys", lambda: write(os.path.join(D, "authorized_keys"), "ssh-ed25519 AAAAC3 stranger\n", "a"))
attempt("replace the pre-receive hook", lambda: write(os.path.join(D, "hooks", "pre-receive"), "#!/bin/sh\n"))
attempt("hard link the database", lambda: os.link(os.path.join(D, "slipway.db"), os.path.join(E["HOME"], "db")))
def hook():
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.path.join(D, "run", "hook." + E["DAEMON_PID"] + ".sock"))
    s.sendall(b'POST /pre-receive HTTP/1.1\r\nHost: slipway\r\nContent-Length: 2\r\n\r\n{}')
    answer = s.recv(64)
    if not answer.startswith(b"HTTP/1.1 200"):
        raise PermissionError(answer[:12])

attempt("talk to the hook socket", hook)
attempt("read the victim's release", lambda: read(os.path.join(E["VICTIM_RELEASE"], "app.py")))
attempt("write the victim's release", lambda: write(os.path.join(E["VICTIM_RELEASE"], "pwned"), "x"))
attempt("list the victim's HOME", lambda: os.listdir(E["VICTIM_HOME"]))
attempt("signal slipway", lambda: os.kill(int(E["DAEMON_PID"]), signal.SIGCONT))
attempt("signal the victim", lambda: os.kill(int(E["VICTIM_PID"]), signal.SIGCONT))
attempt("bind another port", lambda: bind(int(E["FREE_PORT"])))
attempt("read the host's /dev/shm", lambda: read("/dev/shm/" + E["SHM_SECRET"]))
try:  # the test looks for it in the host's /dev/shm
    write("/dev/shm/" + E["SHM_PLANT"], "x")
except Exception:
    pass
r["read the victim's environment"] = found("victim-secret-value", glob.glob("/proc/[0-9]*/environ"))
r["read slipway's environment"] = found("operator-secret-value", ["/proc/%s/environ" % E["DAEMON_PID"]])
r["see slipway's environment in its own"] = "done" if "operator-secret-value" in str(dict(E)) else "refused: absent"
if sys.argv[1] == "run":
    attempt("write its own release", lambda: write("pwned", "x"))
    def rewrite():  # as in the issue: chmod u+w, then edit the code
        try:
            os.chmod("app.py", 0o644)
        except Exception:
            pass
        write("app.py", "print('PWNED')", "a")
    attempt("make its own release writable and edit it", rewrite)
r["uid"] = os.getuid()
r["groups"] = os.getgroups()
print(json.dumps(r))
`,
	}
}

// An app is untrusted code: pushed by someone who may mean harm, it tries
// every attack its build and its processes can reach. Each must fail, and
// the other app must keep serving. As root, slipway gives each app a user
// of its own and sandboxes it with Landlock.
func TestIsolation_HostileAppReachesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("slipway gives apps users of their own only as root: TestIsolation_HostileAppReachesNothingAsUnprivileged covers this user")
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "operator-secret-value") // slipway's own environment
	attackFromInside(t, startServer(t), true)
}

// As an unprivileged user (the laptop quick start) slipway cannot change
// identities: apps share its user, and Landlock alone must keep them out.
func TestIsolation_HostileAppReachesNothingAsUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the test needs root to start slipway as another, unprivileged user")
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "operator-secret-value")
	attackFromInside(t, startServerAs(t, unprivilegedUID), false)
}

// attackFromInside pushes a victim app and the hostile one to s and checks
// that every attack failed; ownIdentity says apps should run as users of
// their own.
func attackFromInside(t *testing.T, s *server, ownIdentity bool) {

	victim := envApp()
	if out, err := s.ssh(s.key, "apps:create", "victim"); err != nil {
		t.Fatalf("apps:create: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "config:set", "victim", "--no-restart", "VICTIM_SECRET=victim-secret-value"); err != nil {
		t.Fatalf("config:set: %v\n%s", err, out)
	}
	s.mustGit(s.newApp(victim), "push", s.remote("victim"), "main")
	s.wantServes("victim", "/env/VICTIM_SECRET", "victim-secret-value")
	ps, _ := s.ssh(s.key, "ps", "victim")
	m := regexp.MustCompile(`web\.1\s+v1 \(live\)\s+up\s+(\d+)\s+(\d+)`).FindStringSubmatch(ps)
	if m == nil {
		t.Fatalf("no web.1 in ps:\n%s", ps)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	// What another process left in /dev/shm, and a name for the app to
	// leave there: the host's /dev/shm must be out of its reach.
	shmSecret := fmt.Sprintf("slipway-e2e-secret-%d", free)
	shmPlant := fmt.Sprintf("slipway-e2e-plant-%d", free)
	if err := os.WriteFile("/dev/shm/"+shmSecret, []byte("shared secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("/dev/shm/" + shmSecret); os.Remove("/dev/shm/" + shmPlant) })
	if out, err := s.ssh(s.key, "apps:create", "hostile"); err != nil {
		t.Fatalf("apps:create: %v\n%s", err, out)
	}
	targets := map[string]string{
		"DATA_DIR":       s.dataDir,
		"VICTIM_RELEASE": filepath.Join(s.dataDir, "apps", "victim", "releases", "v1"),
		"VICTIM_HOME":    filepath.Join(s.dataDir, "apps", "victim", "home"),
		"VICTIM_PID":     m[1],
		"DAEMON_PID":     strconv.Itoa(s.cmd.Process.Pid),
		"FREE_PORT":      strconv.Itoa(free),
		"SHM_SECRET":     shmSecret,
		"SHM_PLANT":      shmPlant,
	}
	args := []string{"config:set", "hostile", "--no-restart"}
	for k, v := range targets {
		args = append(args, k+"="+v)
	}
	if out, err := s.ssh(s.key, args...); err != nil {
		t.Fatalf("config:set: %v\n%s", err, out)
	}
	s.mustGit(s.newApp(hostileApp()), "push", s.remote("hostile"), "main")

	for _, path := range []string{"/build", "/attack"} {
		code, body := s.get("hostile", path)
		if code != 200 {
			t.Fatalf("GET %s = %d %q", path, code, body)
		}
		var report map[string]any
		if err := json.Unmarshal([]byte(body), &report); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
		for attack, outcome := range report {
			switch attack {
			case "uid":
				uid := int(outcome.(float64))
				if ownIdentity && (uid == 0 || uid == s.uid) || !ownIdentity && uid != s.uid {
					t.Errorf("%s: the app ran as uid %d (slipway is %d)", path, uid, s.uid)
				}
			case "groups":
				if g := outcome.([]any); ownIdentity && len(g) != 0 {
					t.Errorf("%s: the app has supplementary groups %v", path, g)
				}
			default:
				if o, _ := outcome.(string); !strings.HasPrefix(o, "refused") {
					t.Errorf("%s: %s: %v", path, attack, outcome)
				}
			}
		}
		if len(report) < 20 || t.Failed() {
			t.Errorf("%s: %d results:\n%s", path, len(report), body)
		}
	}
	if _, err := os.Stat("/dev/shm/" + shmPlant); err == nil {
		t.Error("the app left a file in the host's /dev/shm")
	}
	s.wantServes("victim", "/env/VICTIM_SECRET", "victim-secret-value")
	want := "Landlock sandbox, slipway's user (not root), own /dev/shm"
	if ownIdentity {
		want = "own user, Landlock sandbox, own /dev/shm"
	}
	if info, _ := s.ssh(s.key, "apps:info", "hostile"); !strings.Contains(info, "Isolation:") || !strings.Contains(info, want) {
		t.Errorf("apps:info does not say %q:\n%s", want, info)
	}
	if fi, err := os.Stat(filepath.Join(s.dataDir, "slipway.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("slipway.db: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if out, err := s.ssh(s.key, "config:set", "victim", "AFTER=1"); err != nil {
		t.Errorf("the history is no longer writable after the attacks: %v\n%s", err, out)
	}
}
