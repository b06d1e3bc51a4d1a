package supervisor

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway/slipway/internal/testutil"
)

func TestLaunchOptions_RoundTrip(t *testing.T) {
	sb := &Sandbox{UID: 1900000001, GID: 1900000001, Read: []string{"/srv/a b", "/x=y"}, Write: []string{"/home/app"},
		Ports: []int{0, 8080}, Hold: true, Shm: true, OwnMounts: true}
	got, argv, err := decodeLaunch(append(encodeLaunch(sb), "--", "sh", "-c", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sb) || !reflect.DeepEqual(argv, []string{"sh", "-c", "true"}) {
		t.Errorf("decoded %+v %q, want %+v", got, argv, sb)
	}
	for _, bad := range [][]string{{"--"}, {"x=1", "--", "true"}, {"p=http", "--", "true"}, {"u=-1", "--", "true"}} {
		if _, _, err := decodeLaunch(bad); err == nil {
			t.Errorf("decodeLaunch(%q) took it", bad)
		}
	}
}

// runLauncher runs this test binary as a launcher with args and the
// program's environment sealed, as slipway does.
func runLauncher(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testutil.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = sealEnv([]string{"PATH=/usr/bin:/bin"})
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Both launchers confine alike: the C one (__slipway_launch, before Go
// starts) and the Go one that a slipway of before starts with the
// sandbox as JSON (during an upgrade the launcher binary is the new one).
func TestLauncher_BothFormatsConfine(t *testing.T) {
	if LandlockABI() < 1 {
		t.Skip("no Landlock here")
	}
	ro, rw := t.TempDir(), t.TempDir()
	script := "cat " + filepath.Join(ro, "f") + " && echo w > " + filepath.Join(rw, "g") + " && echo done; echo x > " + filepath.Join(ro, "h") + " || echo refused"
	os.WriteFile(filepath.Join(ro, "f"), []byte("readable\n"), 0o644)
	sb := &Sandbox{Read: []string{ro}, Write: []string{rw}}
	spec, _ := json.Marshal(sb)
	for name, args := range map[string][]string{
		"c":  append([]string{launchArg}, append(encodeLaunch(sb), "--", "sh", "-c", script)...),
		"go": {reexecArg, string(spec), "--", "sh", "-c", script},
	} {
		out, err := runLauncher(t, args...)
		if err != nil || !strings.Contains(out, "readable") || !strings.Contains(out, "done") || !strings.Contains(out, "refused") {
			t.Errorf("%s launcher: %v\n%s", name, err, out)
		}
		os.Remove(filepath.Join(rw, "g"))
	}
	if out, err := runLauncher(t, launchArg, "--", "no-such-program"); err == nil || !strings.Contains(out, "not found in PATH") {
		t.Errorf("a missing program: %v %q", err, out)
	}
}
