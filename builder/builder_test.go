package builder

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNew_FillsDefaults(t *testing.T) {
	b := New(Config{DataDir: "data"})
	if b.timeout != DefaultTimeout {
		t.Errorf("timeout = %v, want %v", b.timeout, DefaultTimeout)
	}
	if b.log != slog.Default() {
		t.Error("logger is not slog.Default()")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.dataDir, filepath.Join(wd, "data"); got != want {
		t.Errorf("dataDir = %q, want %q", got, want)
	}
	if got := New(Config{DataDir: "/d", Timeout: time.Second}).timeout; got != time.Second {
		t.Errorf("timeout = %v, want 1s", got)
	}
}

func TestBuilder_ReleaseDir(t *testing.T) {
	b := New(Config{DataDir: "/srv/slipway"})
	if got, want := b.ReleaseDir("web", 12), "/srv/slipway/apps/web/releases/v12"; got != want {
		t.Errorf("ReleaseDir = %q, want %q", got, want)
	}
	if got, want := b.cacheDir("web"), "/srv/slipway/apps/web/cache"; got != want {
		t.Errorf("cacheDir = %q, want %q", got, want)
	}
}
