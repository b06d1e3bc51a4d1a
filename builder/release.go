package builder

import (
	"time"

	"github.com/slipway/slipway"
)

// Kinds of release, as Release.Kind reports them.
const (
	KindCustom   = "custom"   // app.json scripts.build ran
	KindGo       = "go"       // go.mod: go build
	KindNode     = "node"     // package.json: npm
	KindPython   = "python"   // requirements.txt or pyproject.toml: venv + pip
	KindProcfile = "procfile" // a Procfile and nothing to build
	KindStatic   = "static"   // index.html: served by slipway itself
)

// Request is one build: the commit Commit of the bare repository RepoDir.
type Request struct {
	App     string
	Version slipway.Version
	// Commit is the full SHA of the pushed commit.
	Commit string
	// RepoDir is the path of the bare git repository.
	RepoDir string
	// GitEnv is extra environment for git commands, e.g.
	// GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES and
	// GIT_QUARANTINE_PATH from a pre-receive hook: the pushed objects are
	// only visible through them.
	GitEnv []string
	// Env is the app's config: build steps see it (GOPROXY, NPM_CONFIG_*,
	// PIP_INDEX_URL configure them), never slipway's own environment.
	Env map[string]string
	// Builder is the app's builder:set: BuilderAuto (or ""),
	// BuilderDockerfile or BuilderHost.
	Builder string
}

// Release is the result of a successful build.
type Release struct {
	// Dir is DataDir/apps/APP/releases/vN; its whole tree is read-only.
	Dir string
	// Kind is one of KindCustom, KindGo, KindNode, KindPython, KindProcfile
	// and KindStatic.
	Kind string
	// Procfile is the app's process types. It includes the detected
	// default web process when the app's Procfile has no web line.
	Procfile slipway.Procfile
	// AppJSON is nil when the app has no app.json.
	AppJSON *slipway.AppJSON
	// StaticDir is non-empty for a static site: the directory slipway
	// serves itself, with no process.
	StaticDir string
	// Path lists the directories inside Dir to prepend to PATH when running
	// processes (Dir/.venv/bin, Dir/node_modules/.bin, Dir/bin), only those
	// that exist.
	Path []string
	// Duration is how long the build took.
	Duration time.Duration
	// Image is set for a Dockerfile app: its release is an image.
	Image *ImageRelease
}
