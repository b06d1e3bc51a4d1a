package builder

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestProcessTypes(t *testing.T) {
	web := slipway.Process{Type: "web", Command: "./server"}
	worker := slipway.Process{Type: "worker", Command: "./work"}
	for _, tt := range []struct {
		name      string
		det       detection
		files     files
		procfile  slipway.Procfile
		want      slipway.Procfile
		staticDir string
		wantErr   string
	}{
		{"Procfile web beats Go default", detection{kind: KindGo}, files{"bin/app": "#!x"}, slipway.Procfile{web}, slipway.Procfile{web}, "", ""},
		{"Go default goes first", detection{kind: KindGo}, files{"bin/app": "#!x"}, slipway.Procfile{worker},
			slipway.Procfile{{Type: "web", Command: "bin/app"}, worker}, "", ""},
		{"worker-only Go app", detection{kind: KindGo}, files{"bin/a": "#!x", "bin/b": "#!x"}, slipway.Procfile{worker}, slipway.Procfile{worker}, "", ""},
		{"Go app with two binaries", detection{kind: KindGo}, files{"bin/a": "#!x", "bin/b": "#!x"}, nil, nil, "", "build failed: no process types: go build made 2 binaries"},
		{"Node default", detection{kind: KindNode}, files{"package.json": "{}", "server.js": ""}, nil, slipway.Procfile{{Type: "web", Command: "npm start"}}, "", ""},
		{"Node without start", detection{kind: KindNode}, files{"package.json": "{}"}, nil, nil, "", "no scripts.start"},
		{"Python needs web", detection{kind: KindPython}, nil, slipway.Procfile{worker}, nil, "", "add a Procfile line"},
		{"empty Procfile", detection{kind: KindProcfile}, files{"Procfile": ""}, nil, nil, "", "no process types: add a Procfile (web: COMMAND)"},
		{"static", detection{kind: KindStatic, staticDir: "public"}, nil, nil, nil, "/final/public", ""},
		{"static root", detection{kind: KindStatic, staticDir: "."}, nil, nil, nil, "/final", ""},
		{"custom static site", detection{kind: KindCustom}, files{"index.html": ""}, nil, nil, "/final", ""},
		{"custom with Procfile is not static", detection{kind: KindCustom}, files{"index.html": ""}, slipway.Procfile{worker}, slipway.Procfile{worker}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			s := &session{out: newStream(&buf), tmp: t.TempDir(), final: "/final"}
			writeFiles(t, s.tmp, tt.files)
			got, staticDir, err := s.processTypes(tt.det, tt.procfile)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || staticDir != tt.staticDir {
				t.Errorf("processTypes = %v, %q, %v, want %v, %q", got, staticDir, err, tt.want, tt.staticDir)
			}
		})
	}
}
