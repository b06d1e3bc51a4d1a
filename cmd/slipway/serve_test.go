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
	fromFile, fromFlag := strings.Repeat("f", 32), strings.Repeat("x", 40)
	os.WriteFile(file, []byte(fromFile+"\n"), 0o600)
	for _, tc := range []struct {
		cfg  serveConfig
		want string
	}{
		{serveConfig{AdminToken: fromFlag, AdminTokenFile: file}, fromFlag},
		{serveConfig{AdminTokenFile: file}, fromFile},
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
	if _, err := adminToken(serveConfig{AdminToken: "a"}, layout, logger); err == nil || !strings.Contains(err.Error(), "give at least 32") {
		t.Errorf("a one-character token: err = %v", err)
	}
}
