package builder

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestReleasePath_OnlyExistingDirs(t *testing.T) {
	tmp := t.TempDir()
	writeFiles(t, tmp, files{".venv/bin/python": "", "bin/app": "", "node_modules/x/index.js": ""})
	got := releasePath(tmp, "/final")
	want := []string{filepath.Join("/final", ".venv", "bin"), filepath.Join("/final", "bin")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("releasePath = %v, want %v", got, want)
	}
	if got := releasePath(t.TempDir(), "/final"); got != nil {
		t.Errorf("releasePath of an empty tree = %v, want nil", got)
	}
}

func TestRoundDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1234567 * time.Microsecond: "1.2s",
		15400 * time.Microsecond:   "15ms",
		90 * time.Second:           "1m30s",
	} {
		if got := roundDuration(d).String(); got != want {
			t.Errorf("roundDuration(%v) = %s, want %s", d, got, want)
		}
	}
}
