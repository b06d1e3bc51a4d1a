package apps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestPullTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry_pull_tokens")
	pt := &pullTokens{path: path}
	if pt.check("anything") {
		t.Fatal("a token was accepted before any was made")
	}
	tok, err := pt.create("node-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !pt.check(tok) || pt.check(tok+"x") || pt.check("") {
		t.Fatal("check does not tell the token from others")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), tok) {
		t.Fatal("the file holds the token itself, not its hash")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("the file's mode is %v, want 0600", st.Mode().Perm())
	}
	if _, err := pt.create("node-1", time.Now()); slipway.ErrorCode(err) != slipway.ECONFLICT {
		t.Fatalf("a second token of one label: %v", err)
	}
	if _, err := pt.create("Bad Label", time.Now()); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Fatalf("a bad label: %v", err)
	}
	list, err := pt.list()
	if err != nil || len(list) != 1 || list[0].Label != "node-1" {
		t.Fatalf("list = %v, %v", list, err)
	}
	if err := pt.revoke("node-1"); err != nil {
		t.Fatal(err)
	}
	if pt.check(tok) {
		t.Fatal("a revoked token is still accepted")
	}
	if err := pt.revoke("node-1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("revoking it again: %v", err)
	}
}
