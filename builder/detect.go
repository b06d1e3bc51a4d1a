package builder

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway/slipway"
)

// errNothingToBuild is the detection failure; its text is what the pusher
// reads, so it says what to add.
var errNothingToBuild = errors.New("no Procfile, go.mod, package.json, requirements.txt, pyproject.toml or index.html at the repository root: add a Procfile (web: COMMAND)")

// detection is what kind of app a tree holds.
type detection struct {
	kind      string // Kind*
	label     string // for "-----> Detected …"
	staticDir string // for KindStatic: relative to the tree, "." or "public"
}

// detect decides how to build the tree dir, first match wins: an app.json
// build script, go.mod, package.json, requirements.txt or pyproject.toml,
// a Procfile, index.html at the root or in public/.
func detect(dir string, app *slipway.AppJSON) (detection, error) {
	has := func(name string) bool { return isFile(filepath.Join(dir, name)) }
	switch {
	case app != nil && strings.TrimSpace(app.Scripts.Build) != "":
		return detection{kind: KindCustom, label: "custom build (app.json scripts.build)"}, nil
	case has("go.mod"):
		return detection{kind: KindGo, label: "Go app"}, nil
	case has("package.json"):
		return detection{kind: KindNode, label: "Node.js app"}, nil
	case has("requirements.txt"), has("pyproject.toml"):
		return detection{kind: KindPython, label: "Python app"}, nil
	case has("Procfile"):
		return detection{kind: KindProcfile, label: "Procfile app"}, nil
	}
	if sd := findStaticDir(dir); sd != "" {
		return detection{kind: KindStatic, label: "static site", staticDir: sd}, nil
	}
	return detection{}, nothingToBuild(has)
}

// unbuilt are the kinds of app slipway finds but has no builder for, by
// the file that gives them away, with what to do about each.
var unbuilt = []struct{ file, what, todo string }{
	{"Dockerfile", "a Dockerfile", "the app builds on the host (builder:set APP host): builder:set APP auto builds the Dockerfile, or add a Procfile (web: COMMAND) that runs the app"},
	{"Gemfile", "a Gemfile (a Ruby app)", "slipway has no Ruby builder: add an app.json scripts.build (bundle config set path vendor/bundle && bundle install) and a Procfile (web: bundle exec rackup -p $PORT), with Ruby on the host"},
	{"composer.json", "composer.json (a PHP app)", "slipway has no PHP builder: add an app.json scripts.build (composer install) and a Procfile (web: php -S 127.0.0.1:$PORT -t public), with PHP on the host"},
	{"pom.xml", "pom.xml (a Java app)", "slipway has no Java builder: add an app.json scripts.build (mvn package) and a Procfile (web: java -jar target/APP.jar)"},
	{"build.gradle", "build.gradle (a Java app)", "slipway has no Java builder: add an app.json scripts.build (gradle build) and a Procfile (web: java -jar build/libs/APP.jar)"},
	{"mix.exs", "mix.exs (an Elixir app)", "slipway has no Elixir builder: add an app.json scripts.build (mix release) and a Procfile that runs the release"},
	{"Cargo.toml", "Cargo.toml (a Rust app)", "slipway has no Rust builder: add an app.json scripts.build (cargo build --release) and a Procfile (web: target/release/APP)"},
}

// nothingToBuild is the detection failure: what was found and what to do
// about it, or errNothingToBuild.
func nothingToBuild(has func(string) bool) error {
	for _, u := range unbuilt {
		if has(u.file) {
			return errors.New("found " + u.what + " and no Procfile, go.mod, package.json, requirements.txt, pyproject.toml or index.html: " + u.todo)
		}
	}
	return errNothingToBuild
}

// detectWith is detect with builder:set's choice (BuilderAuto when empty),
// and Dockerfile builds: as Dokku does, a Dockerfile at the root wins over
// every host builder, except an app.json scripts.build, which says how to
// build on the host. BuilderDockerfile builds the Dockerfile even then;
// BuilderHost ignores it.
func detectWith(dir string, app *slipway.AppJSON, builder string) (detection, error) {
	dockerfile := detection{kind: KindDockerfile, label: "Dockerfile app (built with buildah)"}
	switch builder {
	case "", BuilderAuto:
		custom := app != nil && strings.TrimSpace(app.Scripts.Build) != ""
		if !custom && isFile(filepath.Join(dir, "Dockerfile")) {
			return dockerfile, nil
		}
	case BuilderDockerfile:
		if !isFile(filepath.Join(dir, "Dockerfile")) {
			return detection{}, errors.New("the app's builder is dockerfile (builder:set) and there is no Dockerfile at the repository root: add one, or builder:set APP auto")
		}
		return dockerfile, nil
	case BuilderHost:
	default:
		return detection{}, errors.New("unknown builder " + builder + ": want auto, dockerfile or host")
	}
	return detect(dir, app)
}

// findStaticDir returns "." when dir has an index.html, else "public" when
// dir/public has one, else "".
func findStaticDir(dir string) string {
	for _, d := range []string{".", "public"} {
		if isFile(filepath.Join(dir, d, "index.html")) {
			return d
		}
	}
	return ""
}

// isFile reports whether name is a regular file, following symlinks.
func isFile(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// isDir reports whether name is a directory, following symlinks.
func isDir(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}
