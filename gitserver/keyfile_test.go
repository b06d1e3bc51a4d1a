package gitserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway/slipway/internal/testutil"
	gossh "golang.org/x/crypto/ssh"
)

func newPub(t *testing.T) []byte {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return gossh.MarshalAuthorizedKey(k)
}

// A rename follows in the keys limited to the app, and leaves every other
// line as it was. The private HOME keeps the running user's own keys (the
// fallback while the file does not exist) out of the file.
func TestKeyFile_RenameApp(t *testing.T) {
	testutil.PrivateHome(t)
	f := NewKeyFile(filepath.Join(t.TempDir(), "authorized_keys"))
	for _, k := range []struct {
		name string
		apps []string
	}{{"admin", nil}, {"dev", []string{"shop", "blog"}}, {"other", []string{"blog"}}} {
		if _, err := f.Add(k.name, newPub(t), k.apps); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile(f.Path)
	if err := f.RenameApp("shop", "store"); err != nil {
		t.Fatal(err)
	}
	keys, err := f.List()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range keys {
		got[k.Name] = strings.Join(k.Apps, ",")
	}
	if got["admin"] != "" || got["dev"] != "store,blog" || got["other"] != "blog" {
		t.Errorf("after the rename the keys reach %v", got)
	}
	after, _ := os.ReadFile(f.Path)
	b, a := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	if len(a) != len(b) || a[0] != b[0] || a[2] != b[2] || a[1] != strings.Replace(b[1], "SLIPWAY_APPS=shop,blog", "SLIPWAY_APPS=store,blog", 1) {
		t.Errorf("the file changed beyond the app's name:\n%s\nbecame\n%s", before, after)
	}
}
