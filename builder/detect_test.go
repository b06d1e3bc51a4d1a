package builder

import (
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestDetect_FirstMatchWins(t *testing.T) {
	withBuild := &slipway.AppJSON{Scripts: slipway.Scripts{Build: "make"}}
	for _, tt := range []struct {
		name      string
		files     files
		app       *slipway.AppJSON
		kind      string
		staticDir string
	}{
		{"build script beats go.mod", files{"go.mod": "", "Procfile": ""}, withBuild, KindCustom, ""},
		{"blank build script ignored", files{"go.mod": ""}, &slipway.AppJSON{Scripts: slipway.Scripts{Build: "  "}}, KindGo, ""},
		{"go", files{"go.mod": "", "package.json": "{}"}, nil, KindGo, ""},
		{"node", files{"package.json": "{}", "requirements.txt": ""}, nil, KindNode, ""},
		{"python requirements", files{"requirements.txt": "", "Procfile": ""}, nil, KindPython, ""},
		{"python pyproject", files{"pyproject.toml": ""}, nil, KindPython, ""},
		{"procfile beats index.html", files{"Procfile": "web: x", "index.html": ""}, nil, KindProcfile, ""},
		{"static root beats public", files{"index.html": "", "public/index.html": ""}, nil, KindStatic, "."},
		{"static public", files{"public/index.html": ""}, nil, KindStatic, "public"},
		{"markers only count at the root", files{"sub/go.mod": "", "sub/index.html": ""}, nil, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			det, err := detect(dir, tt.app)
			if tt.kind == "" {
				if err != errNothingToBuild {
					t.Errorf("detect = %+v, %v, want errNothingToBuild", det, err)
				}
				return
			}
			if err != nil || det.kind != tt.kind || det.staticDir != tt.staticDir {
				t.Errorf("detect = %+v, %v, want kind %q, static dir %q", det, err, tt.kind, tt.staticDir)
			}
		})
	}
}

// An app of a kind slipway has no builder for is named, with what to do.
func TestDetect_SaysWhatItFoundAndCannotBuild(t *testing.T) {
	for file, want := range map[string]string{
		"Dockerfile":    "found a Dockerfile and no Procfile",
		"Gemfile":       "found a Gemfile (a Ruby app) and no Procfile, go.mod, package.json, requirements.txt, pyproject.toml or index.html: slipway has no Ruby builder: add an app.json scripts.build",
		"composer.json": "composer.json (a PHP app)",
		"pom.xml":       "pom.xml (a Java app)",
		"build.gradle":  "build.gradle (a Java app)",
		"mix.exs":       "mix.exs (an Elixir app)",
		"Cargo.toml":    "Cargo.toml (a Rust app)",
	} {
		dir := t.TempDir()
		writeFiles(t, dir, files{file: "", "config.ru": ""})
		if _, err := detect(dir, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: detect = %v, want %q", file, err, want)
		}
	}
}

func TestDetect_DirectoryNamedLikeAMarkerIsNotOne(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, files{"go.mod/x": "", "Procfile": "web: x"})
	if det, err := detect(dir, nil); err != nil || det.kind != KindProcfile {
		t.Errorf("detect = %+v, %v, want a Procfile app", det, err)
	}
}
