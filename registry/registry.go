package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

// DefaultMaxImageSize is the largest blob, and the largest image (its
// config and layers), that the registry accepts unless Config says
// otherwise.
const DefaultMaxImageSize = 4 << 30

// DefaultGCGrace is how old a blob, layer link or manifest must be before
// GC may remove it: a push in progress has uploaded its layers but not yet
// put the manifest that references them.
const DefaultGCGrace = time.Hour

// ErrNotFound is returned for a repository or tag that the registry does
// not have.
var ErrNotFound = errors.New("no such image in the registry")

// Config configures a Registry.
type Config struct {
	// Root is the storage directory (DATA/registry), created 0700.
	Root string
	// Check says what a request's Basic credentials grant. It must
	// compare secrets in constant time. Required.
	Check func(user, password string) Access
	// Repos, when set, limits what an authenticated user may reach: the
	// repositories its answer for the user allows (nil: every one), and no
	// catalog when limited. The user name counts only once Check has
	// accepted its password: give limited users credentials of their own.
	Repos func(user string) func(repo string) bool
	// Logger receives the registry's own lines and, at debug level,
	// distribution's. If nil, slog.Default() is used.
	Logger *slog.Logger
	// MaxImageSize bounds one blob upload and the sum of an image's
	// config and layers. If zero, DefaultMaxImageSize is used.
	MaxImageSize int64
	// GCGrace: GC keeps what was written less than this long ago. If
	// zero, DefaultGCGrace is used; a negative value keeps nothing back.
	GCGrace time.Duration
}

// Registry is slipway's OCI registry.
type Registry struct {
	cfg     Config
	log     *slog.Logger
	app     *handlers.App
	driver  storagedriver.StorageDriver
	ns      distribution.Namespace
	handler http.Handler

	// gc is held for reading by every write (a request other than GET
	// and HEAD, and Delete) and for writing by GC, so that a collection
	// never sees half a push and a push waits while GC runs (seconds on
	// the filesystem) rather than failing.
	gc sync.RWMutex
}

// New opens the registry stored under cfg.Root, creating it if needed.
// ctx's values (not its cancellation) reach distribution's background
// work, which Close stops.
func New(ctx context.Context, cfg Config) (*Registry, error) {
	if cfg.Root == "" {
		return nil, errors.New("registry: Config.Root is empty: give the storage directory")
	}
	if cfg.Check == nil {
		return nil, errors.New("registry: Config.Check is nil: give the function that checks credentials")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxImageSize <= 0 {
		cfg.MaxImageSize = DefaultMaxImageSize
	}
	if cfg.GCGrace == 0 {
		cfg.GCGrace = DefaultGCGrace
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	cfg.Root = root
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("registry: create its storage: %w", err)
	}
	// Images may hold an app's code: nobody but slipway reads them.
	if err := os.Chmod(root, 0o700); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	routeDistributionLogs(cfg.Logger)

	r := &Registry{cfg: cfg, log: cfg.Logger}
	r.app, err = newApp(context.WithoutCancel(ctx), root)
	if err != nil {
		return nil, err
	}
	// A second view of the same storage for listing, Delete and GC. No
	// blob descriptor cache on either side, so each sees the other's
	// changes at once.
	r.driver = filesystem.New(filesystem.DriverParameters{RootDirectory: root, MaxThreads: 100})
	r.ns, err = storage.NewRegistry(ctx, r.driver, storage.EnableDelete)
	if err != nil {
		r.app.Shutdown()
		return nil, fmt.Errorf("registry: %w", err)
	}
	r.handler = http.HandlerFunc(r.serve)
	return r, nil
}

// newApp configures distribution's application: filesystem storage,
// deletes enabled (for GC), slipway's access controller, relative
// Location headers (so that any host name, slipway.internal included,
// works), and nothing that reaches the network.
func newApp(ctx context.Context, root string) (app *handlers.App, err error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	cfg := &configuration.Configuration{Version: "0.1"}
	cfg.Storage = configuration.Storage{
		"filesystem": {"rootdirectory": root},
		"delete":     {"enabled": true},
		// Our own disk: serve blobs directly, never redirect.
		"redirect": {"disable": true},
		"maintenance": {"uploadpurging": map[any]any{
			"enabled": true, "age": "168h", "interval": "24h", "dryrun": false,
		}},
	}
	cfg.Auth = configuration.Auth{authName: {"realm": realm}}
	cfg.HTTP.Secret = hex.EncodeToString(secret)
	cfg.HTTP.RelativeURLs = true
	cfg.HTTP.Headers = http.Header{"X-Content-Type-Options": {"nosniff"}}
	// Redis, notifications, the proxy, tracing and health checks stay
	// unset: NewApp starts none of them, and tracing is only set up by
	// distribution's own command, which we do not use.

	// NewApp panics on a bad configuration or storage.
	defer func() {
		if p := recover(); p != nil {
			app, err = nil, fmt.Errorf("registry: start distribution: %v", p)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

// Handler serves the distribution API under /v2/.
func (r *Registry) Handler() http.Handler { return r.handler }

// Close stops distribution's background work. Requests still served
// afterwards keep working on the storage.
func (r *Registry) Close() error {
	return r.app.Shutdown()
}

// Root is the storage directory.
func (r *Registry) Root() string { return r.cfg.Root }
