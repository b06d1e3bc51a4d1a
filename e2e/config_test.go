package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envApp is a Procfile app that answers GET /env/NAME with the value of
// environment variable NAME.
func envApp() map[string]string {
	return map[string]string{
		"Procfile": "web: python3 app.py\n",
		"app.py": `import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        name = self.path.removeprefix("/env/")
        value = os.environ.get(name)
        body = (value if value is not None else "<unset>").encode()
        self.send_response(200 if self.path.startswith("/env/") or self.path == "/" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
	}
}

// env fetches /env/NAME of app through the router.
func (s *server) env(app, name string) string {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.httpAddr+"/env/"+name, nil)
	req.Host = app + "." + testDomain
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestConfig_SetGetUnsetOverSSH(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(envApp())
	s.mustGit(dir, "push", s.remote("cfg"), "main")

	odd := "a b=c 'single' \"double\"\nsecond line;|&$x"
	// ssh joins its arguments with spaces, so a value travels quoted, as a
	// user types it: ssh git@HOST "config:set cfg 'K=a b'".
	quoted := "'ODD=" + strings.ReplaceAll(odd, "'", `'\''`) + "'"
	out, err := s.ssh(s.key, "config:set cfg GREETING=hello "+quoted)
	if err != nil {
		t.Fatalf("config:set: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Set GREETING, ODD as v2") {
		t.Errorf("config:set output:\n%s", out)
	}
	if got := s.env("cfg", "GREETING"); got != "hello" {
		t.Errorf("app sees GREETING=%q, want hello", got)
	}
	if got := s.env("cfg", "ODD"); got != odd {
		t.Errorf("app sees ODD=%q, want %q", got, odd)
	}
	got, err := s.ssh(s.key, "config:get", "cfg", "ODD")
	if err != nil || got != odd+"\n" {
		t.Errorf("config:get ODD = %q, %v; want %q", got, err, odd+"\n")
	}
	list, _ := s.ssh(s.key, "config", "cfg")
	if strings.Contains(list, "hello") || !strings.Contains(list, "GREETING:") {
		t.Errorf("config list is not masked:\n%s", list)
	}
	if list, _ := s.ssh(s.key, "config", "cfg", "--reveal"); !strings.Contains(list, "hello") {
		t.Errorf("config --reveal does not show values:\n%s", list)
	}

	// --no-restart stores without a release; the next push picks it up.
	if out, err := s.ssh(s.key, "config:set", "cfg", "--no-restart", "LATER=1"); err != nil {
		t.Fatalf("config:set --no-restart: %v\n%s", err, out)
	}
	if got := s.env("cfg", "LATER"); got != "<unset>" {
		t.Errorf("--no-restart deployed: LATER=%q", got)
	}
	if out, err := s.ssh(s.key, "config:unset", "cfg", "GREETING"); err != nil {
		t.Fatalf("config:unset: %v\n%s", err, out)
	}
	if got := s.env("cfg", "GREETING"); got != "<unset>" {
		t.Errorf("after unset GREETING=%q", got)
	}
	if got := s.env("cfg", "LATER"); got != "1" {
		t.Errorf("the config release did not pick up LATER: %q", got)
	}
	// v2 served requests and drains; v1 served none, so no session can
	// come back to it: it was retired as soon as it stopped being live.
	waitFor(t, "v1 retired and v2 draining", func() bool {
		return strings.HasPrefix(history(s.releasesJSON("cfg")), "v3:live:config v2:draining:config v1:retired:push")
	})

	for _, bad := range [][]string{
		{"config:set", "cfg", "lower=x"}, {"config:set", "cfg", "PORT=1"}, {"config:set", "cfg", "NOEQUALS"},
		{"config:get", "cfg", "MISSING"}, {"config", "nosuch"}, {"config:unset", "cfg"},
	} {
		out, err := s.ssh(s.key, bad...)
		if err == nil || strings.Contains(out, "internal error") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("ssh %v: err %v, output %q: want one clear line and a failure", bad, err, out)
		}
	}
	s.wantServes("cfg", "/env/LATER", "1")
}

// Unsetting a key that is not set, or setting one to the value it has,
// makes no release and says so.
func TestConfig_NoChangeMakesNoRelease(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(envApp())
	s.mustGit(dir, "push", s.remote("same"), "main")
	if out, err := s.ssh(s.key, "config:set", "same", "A=1"); err != nil {
		t.Fatalf("config:set: %v\n%s", err, out)
	}
	for _, cmd := range [][]string{{"config:unset", "same", "NOPE"}, {"config:set", "same", "A=1"}} {
		out, err := s.ssh(s.key, cmd...)
		if err != nil || !strings.Contains(out, "No change to the config of same: no release made") {
			t.Errorf("%v: %v\n%s", cmd, err, out)
		}
	}
	if out, _ := s.ssh(s.key, "config:unset", "same", "NOPE"); !strings.Contains(out, "NOPE is not set on same") {
		t.Errorf("config:unset of a missing key does not say so:\n%s", out)
	}
	rels, _ := s.ssh(s.key, "releases", "same", "--json")
	if n := strings.Count(rels, `"version"`); n != 2 {
		t.Errorf("%d releases, want 2 (the push and the one real change)\n%s", n, rels)
	}
}

// A config release records who made it: the ssh key, like a push's pusher.
func TestConfig_ReleaseRecordsTheKey(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(envApp())
	s.mustGit(dir, "push", s.remote("who"), "main")
	if out, err := s.ssh(s.key, "config:set", "who", "A=1"); err != nil {
		t.Fatalf("config:set: %v\n%s", err, out)
	}
	out, _ := s.ssh(s.key, "releases:info", "who", "v2", "--json")
	if !strings.Contains(out, `"pusher_comment": "id_ed25519@e2e (SHA256:`) {
		t.Errorf("the config release does not name the key:\n%s", out)
	}
}

// A var stored with --no-restart shows as pending until a release takes it.
func TestConfig_NoRestartShowsPending(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(envApp())
	s.mustGit(dir, "push", s.remote("later"), "main")
	s.ssh(s.key, "config:set", "later", "A=1")
	if out, err := s.ssh(s.key, "config:set", "later", "--no-restart", "B=2"); err != nil {
		t.Fatalf("config:set --no-restart: %v\n%s", err, out)
	}
	out, _ := s.ssh(s.key, "config", "later")
	if !strings.Contains(out, "B:  ********  (pending: the next release takes it)") || strings.Contains(strings.Split(out, "\n")[0], "pending") {
		t.Errorf("config after --no-restart:\n%s", out)
	}
	s.ssh(s.key, "config:set", "later", "C=3")
	if out, _ := s.ssh(s.key, "config", "later"); strings.Contains(out, "pending") {
		t.Errorf("a release took the vars, still pending:\n%s", out)
	}
}

// kill -9 while a config:set's release waits for its instance: after the
// next start the change is undone (config, config:get and the live
// release agree on the value from before), the release is failed as
// interrupted, and the next release does not take the change live.
func TestConfig_KillNineDuringAConfigReleaseUndoesIt(t *testing.T) {
	s := startServer(t)
	app := envApp()
	// The release of GREETING=new never gets healthy: it waits, and the
	// test sees it wait (its instance is `sleep 3607`), then kills slipway.
	app["Procfile"] = `web: if [ "$GREETING" = new ]; then exec sleep 3607; fi; exec python3 app.py` + "\n"
	dir := s.newApp(app)
	s.mustGit(dir, "push", s.remote("cut"), "main")
	if out, err := s.ssh(s.key, "config:set", "cut", "GREETING=old"); err != nil {
		t.Fatalf("config:set: %v\n%s", err, out)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.ssh(s.key, "config:set", "cut", "GREETING=new")
		done <- err
	}()
	waitFor(t, "the config release's instance to start", func() bool { return s.countRunning("sleep 3607") > 0 })
	s.cmd.Process.Kill()
	s.cmd.Wait()
	select {
	case err := <-done:
		if err == nil {
			t.Error("the cut-off config:set was reported as done")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the config:set's ssh hangs after slipway was killed")
	}

	s.start()
	if got := s.env("cut", "GREETING"); got != "old" {
		t.Errorf("after the start the app serves GREETING=%q, want old", got)
	}
	if out, _ := s.ssh(s.key, "config:get", "cut", "GREETING"); strings.TrimSpace(out) != "old" {
		t.Errorf("config:get after the start = %q, want old", out)
	}
	if rels, _ := s.ssh(s.key, "releases", "cut", "--json"); !strings.Contains(rels, `"failure": "interrupted: slipway stopped during the deploy"`) {
		t.Errorf("the cut-off config release is not failed as interrupted:\n%s", rels)
	}
	if n := s.countRunning("sleep 3607"); n != 0 {
		t.Errorf("%d processes of the cut-off release run after the start", n)
	}
	// The next release runs with the config as it was.
	s.commit(dir, "v2", map[string]string{"README": "v2\n"})
	s.mustGit(dir, "push", s.remote("cut"), "main")
	if got := s.env("cut", "GREETING"); got != "old" {
		t.Errorf("the next push serves GREETING=%q, want old", got)
	}
}

// On a full disk, config:set says which path is full and what to do, in
// one line; the live release keeps serving and, once there is room, the
// same command works.
func TestConfig_FullDiskSaysWhichPathAndKeepsServing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the test mounts a small tmpfs for the data dir, which needs root")
	}
	mnt := t.TempDir()
	// Room for slipway's copy of itself (DATA/bin) and 64M.
	size := fmt.Sprintf("size=%dm", binaryMB(t)+64)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", size, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	s := newServer(t, os.Geteuid())
	data := filepath.Join(mnt, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	keys, _ := os.ReadFile(filepath.Join(s.dataDir, "authorized_keys"))
	os.WriteFile(filepath.Join(data, "authorized_keys"), keys, 0o600)
	s.dataDir = data
	cleanUpHost(t, data)
	// The app on the data dir's filesystem, as without root: with a disk
	// of its own the release's log and records would still fit (the
	// database reuses its WAL's pages), and nothing would be refused.
	s.start("--app-disk", "0")
	s.mustGit(s.newApp(envApp()), "push", s.remote("full"), "main")

	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // ENOSPC: the disk is full
		}
	}
	f.Close()
	out, err := s.ssh(s.key, "config:set", "full", "GREETING=hi")
	if err == nil || !strings.Contains(out, "no space left on the disk holding "+data) || strings.Contains(out, "internal error") {
		t.Errorf("config:set on a full disk: %v\n%s", err, out)
	}
	if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; lines > 3 {
		t.Errorf("config:set on a full disk said %d lines:\n%s", lines, out)
	}
	if got := s.env("full", "GREETING"); got != "<unset>" {
		t.Errorf("the live release serves GREETING=%q, want it unset", got)
	}
	os.Remove(filler)
	if out, err := s.ssh(s.key, "config:set", "full", "GREETING=hi"); err != nil {
		t.Fatalf("config:set with room again: %v\n%s", err, out)
	}
	if got := s.env("full", "GREETING"); got != "hi" {
		t.Errorf("after config:set with room, GREETING=%q, want hi", got)
	}
}
