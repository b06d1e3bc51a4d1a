package builder

import (
	"strings"
	"testing"
	"time"
)

func TestGoDefaultWeb_OnlyForASingleBinary(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files files
		web   string
		hint  string
	}{
		{"one binary", files{"bin/app": "#!x"}, "bin/app", ""},
		{"no bin", files{"go.mod": ""}, "", "made no binary"},
		{"not executable", files{"bin/notes.txt": "x"}, "", "made no binary"},
		{"two binaries", files{"bin/api": "#!x", "bin/worker": "#!x"}, "", "made 2 binaries in bin/ (api, worker)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			web, hint := goDefaultWeb(dir)
			if web != tt.web || (tt.hint == "") != (hint == "") || !strings.Contains(hint, tt.hint) {
				t.Errorf("goDefaultWeb = %q, %q, want %q and a hint containing %q", web, hint, tt.web, tt.hint)
			}
		})
	}
}

// go build -v's package names become a few progress lines; what is not a
// package name (an error) passes as it is.
func TestPackageProgress(t *testing.T) {
	var out strings.Builder
	p := &packageProgress{w: &out, every: time.Hour}
	for _, line := range []string{"internal/abi", "runtime", "net/http", "./main.go:3:2: undefined: x", "example.com/app"} {
		p.Write([]byte(line + "\n"))
	}
	want := "compiling internal/abi (1 packages so far)\n./main.go:3:2: undefined: x\n"
	if out.String() != want {
		t.Errorf("progress = %q, want %q", out.String(), want)
	}
}
