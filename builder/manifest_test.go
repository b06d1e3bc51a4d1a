package builder

import (
	"errors"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestReadManifests(t *testing.T) {
	for _, tt := range []struct {
		name    string
		files   files
		procs   int
		hasApp  bool
		wantErr string
	}{
		{"none", files{}, 0, false, ""},
		{"both", files{"Procfile": "web: x\nworker: y\n", "app.json": `{"name": "a"}`}, 2, true, ""},
		{"empty Procfile", files{"Procfile": ""}, 0, false, ""},
		{"bad Procfile", files{"Procfile": "nocolon\n"}, 0, false, "build failed: invalid Procfile: line 1"},
		{"bad app.json", files{"app.json": "{"}, 0, false, "build failed: invalid app.json"},
		{"huge Procfile", files{"Procfile": strings.Repeat("# comment\n", 10000)}, 0, false, "larger than"},
		{"Procfile is a directory", files{"Procfile/x": ""}, 0, false, "read Procfile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			app, procs, err := readManifests(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, slipway.ErrBuildFailed) {
					t.Errorf("err = %v, want a build error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(procs) != tt.procs || (app != nil) != tt.hasApp {
				t.Errorf("readManifests = %v, %v, %v", app, procs, err)
			}
		})
	}
}
