package testutil

import (
	"os/exec"
	"testing"
)

// A missing program skips the test, naming it and its Debian package; a
// present one is found on PATH or at a path of alsoAt.
func TestNeedTool_SkipsNamingThePackage(t *testing.T) {
	t.Setenv("CI", "")
	var skipped bool
	var found string
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		found = NeedTool(t, "slipway-no-such-tool", "slipway-no-such-package")
	})
	if !skipped || found != "" {
		t.Errorf("a missing tool: skipped %v, found %q", skipped, found)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	if got := NeedTool(t, "sh", "dash"); got != sh {
		t.Errorf("NeedTool(sh) = %q, want %q", got, sh)
	}
	if got := NeedTool(t, "slipway-no-such-tool", "dash", "/nonexistent/sh", sh); got != sh {
		t.Errorf("NeedTool with alsoAt = %q, want %q", got, sh)
	}
}

// A PATH without python3 skips a test that needs a virtualenv.
func TestNeedVenv_SkipsWithoutPython(t *testing.T) {
	t.Setenv("CI", "")
	var skipped bool
	t.Run("no python3", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		NeedVenv(t, t.TempDir())
	})
	if !skipped {
		t.Error("NeedVenv with no python3 on the PATH did not skip")
	}
}
