package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With no authorized_keys in the data dir, slipway lets in the running
// user's own keys and says so in its log.
func TestServe_FallsBackToUsersOwnKeys(t *testing.T) {
	s := &server{t: t, dataDir: newDataDir(t), home: t.TempDir()}
	sshDir := filepath.Join(s.home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.key = newKey(t, sshDir, "id_ed25519")
	s.start()
	if log := s.logText(); !strings.Contains(log, "using the running user's own ssh keys") {
		t.Errorf("log does not say it fell back to the user's keys:\n%s", log)
	}
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("laptop"), "main")
	s.wantServes("laptop", "/", "hello from v1")
}

// authorized_keys is re-read when it changes: a key added while slipway
// runs can push at once.
func TestServe_RereadsAuthorizedKeys(t *testing.T) {
	s := startServer(t)
	second := newKey(t, t.TempDir(), "second")
	dir := s.newApp(staticApp("v1"))
	if out, err := s.gitWithKey(second, dir, "push", s.remote("team"), "main"); err == nil {
		t.Fatalf("push with a key not yet authorized succeeded:\n%s", out)
	}
	pub, err := os.ReadFile(second + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(s.dataDir, "authorized_keys"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(pub)
	f.Close()
	if out, err := s.gitWithKey(second, dir, "push", s.remote("team"), "main"); err != nil {
		t.Fatalf("push with a newly authorized key failed: %v\n%s", err, out)
	}
	s.wantServes("team", "/", "hello from v1")
}
