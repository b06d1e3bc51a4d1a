package gitserver

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/slipway/slipway/internal/testutil"
)

// With no key at all, the log says how to add one; a refused key is
// logged once, with its fingerprint and the command that lets it in; a
// key the running user makes after the start counts at once.
func TestAuthorizedKeys_FirstKey(t *testing.T) {
	home := testutil.PrivateHome(t)
	var log bytes.Buffer
	a := newAuthorizedKeys(filepath.Join(t.TempDir(), "authorized_keys"), slog.New(slog.NewTextHandler(&log, nil)))
	a.load()
	if !strings.Contains(log.String(), "slipway ssh-keys:add NAME < ~/.ssh/id_ed25519.pub") {
		t.Errorf("with no key the log does not say how to add one:\n%s", log.String())
	}
	key, _, _, _, err := gossh.ParseAuthorizedKey(newPub(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok := a.lookup(key); ok {
			t.Fatal("an unknown key may push")
		}
	}
	fp := gossh.FingerprintSHA256(key)
	if n := strings.Count(log.String(), "ssh key refused"); n != 1 || !strings.Contains(log.String(), fp) {
		t.Errorf("the refused key is logged %d times (want once, with %s):\n%s", n, fp, log.String())
	}

	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	line := append(gossh.MarshalAuthorizedKey(key)[:len(gossh.MarshalAuthorizedKey(key))-1], []byte(" me@laptop\n")...)
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), line, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, ok := a.lookup(key); !ok || p.Comment != "me@laptop" {
		t.Errorf("a key made after the start: lookup = %+v, %v", p, ok)
	}
	if list, err := NewKeyFile(a.path).List(); err != nil || len(list) != 1 || list[0].Name != "me@laptop" {
		t.Errorf("ssh-keys:list of the running user's keys = %+v, %v", list, err)
	}
}
