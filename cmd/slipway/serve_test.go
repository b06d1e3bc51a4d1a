package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestAdminToken_FlagFileOrGenerated(t *testing.T) {
	dir := t.TempDir()
	layout := slipway.Layout{Root: dir}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	file := filepath.Join(dir, "token-file")
	os.WriteFile(file, []byte("from-the-file\n"), 0o600)
	for _, tc := range []struct {
		cfg  serveConfig
		want string
	}{
		{serveConfig{AdminToken: "from-the-flag", AdminTokenFile: file}, "from-the-flag"},
		{serveConfig{AdminTokenFile: file}, "from-the-file"},
	} {
		if got, err := adminToken(tc.cfg, layout, logger); err != nil || got != tc.want {
			t.Errorf("adminToken(%+v) = %q, %v; want %q", tc.cfg, got, err, tc.want)
		}
	}
	generated, err := adminToken(serveConfig{}, layout, logger)
	if err != nil || len(generated) != 48 {
		t.Errorf("generated token %q, %v: want 48 hex characters", generated, err)
	}
	if again, _ := adminToken(serveConfig{}, layout, logger); again != generated {
		t.Errorf("the generated token changed: %q then %q", generated, again)
	}
	if _, err := adminToken(serveConfig{AdminTokenFile: filepath.Join(dir, "missing")}, layout, logger); err == nil || !strings.Contains(err.Error(), "--admin-token-file") {
		t.Errorf("missing token file: err = %v", err)
	}
}
