package e2e

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Under systemd, the slipway-*.socket units hold the listening sockets and passes
// them to slipway (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, from fd 3), so
// that a restart queues connections instead of refusing them. The test
// passes them exactly so: LISTEN_PID is the pid of the process that
// execs slipway, set after the fork.
func TestServe_TakesSocketsFromTheServiceManager(t *testing.T) {
	var files []*os.File
	addrs := map[string]string{}
	for _, name := range []string{"ssh", "http", "admin"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		ln.Close() // the file keeps the socket listening
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
		addrs[name] = ln.Addr().String()
	}
	s := &server{t: t, dataDir: newDataDir(t), home: t.TempDir(), uid: os.Geteuid()}
	cleanUpHost(t, s.dataDir)
	s.key = newKey(t, s.home, "id_ed25519")
	pub, _ := os.ReadFile(s.key + ".pub")
	os.MkdirAll(s.dataDir, 0o755)
	os.WriteFile(s.dataDir+"/authorized_keys", pub, 0o600)
	s.prepare = func(cmd *exec.Cmd) {
		cmd.Args = append([]string{"sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, cmd.Path}, cmd.Args[1:]...)
		cmd.Path = "/bin/sh"
		cmd.Env = append(cmd.Env, "LISTEN_FDS=3", "LISTEN_FDNAMES=ssh:http:admin")
		cmd.ExtraFiles = files
	}
	s.start()
	for name, got := range map[string]string{"ssh": s.sshAddr, "http": s.httpAddr, "admin": s.adminAddr} {
		if got != addrs[name] {
			t.Errorf("%s serves on %s, want the passed socket %s", name, got, addrs[name])
		}
	}
	dir := s.newApp(staticApp("v1"))
	if out := s.mustGit(dir, "push", s.remote("activated"), "main"); !strings.Contains(out, "v1 is live") {
		t.Fatalf("push over the passed ssh socket:\n%s", out)
	}
	s.wantServes("activated", "/", "hello from v1")
}
