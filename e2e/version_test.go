package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// `version` over ssh and `slipway version` name the commit slipway was
// built from, which the test binary was built from this checkout.
func TestVersion_NamesTheCommit(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v", err)
	}
	want := "commit " + string(head[:12])
	s := startServer(t)
	out, err := s.ssh(s.key, "version")
	if err != nil || !strings.HasPrefix(out, "slipway ") || !strings.Contains(out, want) {
		t.Errorf("ssh version = %q, %v; want it to name %s", out, err, want)
	}
	local, err := exec.Command(slipwayBin, "version").Output()
	if err != nil || !strings.Contains(string(local), want) {
		t.Errorf("slipway version = %q, %v; want it to name %s", local, err, want)
	}
}
