package builder

import (
	"log/slog"
	"path/filepath"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// DefaultTimeout is the whole-build time limit used when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Minute

// BuildNice is the scheduling priority (nice value) of build steps: on a
// small host, a build must not slow down the apps serving requests.
const BuildNice = 10

// Config configures a Builder.
type Config struct {
	// DataDir holds releases in DataDir/apps/APP/releases/vN and build
	// caches in DataDir/apps/APP/cache. A relative path is made absolute
	// once, by New.
	DataDir string
	// Timeout is the whole-build time limit; 0 means DefaultTimeout.
	Timeout time.Duration
	// Sandbox, when set, returns the sandbox of app's build steps (its
	// identity, when slipway is root); the builder adds the tree being
	// built and the cache to write, and gives the tree to that identity
	// while it is built. Nil runs the steps as slipway itself.
	Sandbox func(app, process string) (*supervisor.Sandbox, error)
	// MaxTreeFiles and MaxTreeBytes bound the pushed tree as exported
	// (entries, and bytes of file content); 0 means the defaults.
	MaxTreeFiles int
	MaxTreeBytes int64
	// Registries, when set, returns the registries a Dockerfile app's
	// FROM lines are looked up in, slipway's own first, with a credential
	// for the build that the returned func revokes.
	Registries func(app string) ([]Registry, func())
	// Logger receives one line per build event; nil means slog.Default().
	Logger *slog.Logger
}

// Defaults of the bounds of a pushed tree.
const (
	DefaultMaxTreeFiles = 50000
	DefaultMaxTreeBytes = 2 << 30
)

// Builder builds releases. It is safe for concurrent use by several
// goroutines, as long as no two builds share an app and version.
type Builder struct {
	dataDir string
	timeout time.Duration
	limits  treeLimits
	sandbox func(app, process string) (*supervisor.Sandbox, error)
	// registries gives a Dockerfile build the registries its FROM lines
	// are looked up in, and ends their credential when it is done.
	registries func(app string) ([]Registry, func())
	log        *slog.Logger
}

// New returns a Builder configured by cfg.
func New(cfg Config) *Builder {
	b := &Builder{dataDir: cfg.DataDir, timeout: cfg.Timeout, sandbox: cfg.Sandbox, registries: cfg.Registries, log: cfg.Logger,
		limits: treeLimits{files: cfg.MaxTreeFiles, bytes: cfg.MaxTreeBytes}}
	if b.limits.files <= 0 {
		b.limits.files = DefaultMaxTreeFiles
	}
	if b.limits.bytes <= 0 {
		b.limits.bytes = DefaultMaxTreeBytes
	}
	// Build tools and venv scripts record absolute paths, and build steps
	// run in other working directories.
	if abs, err := filepath.Abs(b.dataDir); err == nil {
		b.dataDir = abs
	}
	if b.timeout <= 0 {
		b.timeout = DefaultTimeout
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	return b
}

// ReleaseDir returns DataDir/apps/APP/releases/vN.
func (b *Builder) ReleaseDir(app string, v slipway.Version) string {
	return b.layout().Release(app, v)
}

func (b *Builder) layout() slipway.Layout { return slipway.Layout{Root: b.dataDir} }

// cacheDir is where an app's build caches survive from one build to the
// next: outside every release, so a release stays small and immutable.
func (b *Builder) cacheDir(app string) string { return b.layout().Cache(app) }
