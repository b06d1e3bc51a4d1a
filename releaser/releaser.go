// Package releaser runs releases: it starts a release's web pool, health
// checks every instance, switches the router to the new pool in one atomic
// step and stops the old pool once its requests in flight have finished.
package releaser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/router"
)

// Defaults for Config fields left zero.
const (
	DefaultDeployTimeout = 60 * time.Second
	DefaultStopGrace     = 10 * time.Second
)

// Router is what the releaser needs of the router.
type Router interface {
	// SetLive makes p its app's live pool and returns the pool it replaced.
	SetLive(p *router.Pool) (old *router.Pool)
	// WaitIdle returns when no request is in flight on p, or ctx is done.
	WaitIdle(ctx context.Context, p *router.Pool) error
}

var _ Router = (*router.Router)(nil)

// Config configures a Releaser.
type Config struct {
	DataDir string
	Router  Router
	// DeployTimeout bounds starting and health checking a new pool.
	DeployTimeout time.Duration
	// StopGrace is how long an instance has to exit after SIGTERM before
	// it gets SIGKILL.
	StopGrace time.Duration
	Logger    *slog.Logger // slog.Default when nil
}

// Releaser owns every app process slipway runs.
type Releaser struct {
	cfg    Config
	logger *slog.Logger

	mu   sync.Mutex
	apps map[string]*app

	retiring sync.WaitGroup // old pools being stopped in the background
}

// app is one app's deploy lock, persisted state and live pool.
type app struct {
	name   string
	deploy chan struct{} // holds one token while a deploy of the app runs

	mu    sync.Mutex
	state appState
	live  *pool
}

// pool is the running processes of one release.
type pool struct {
	spec      Spec
	instances []*instance
	route     *router.Pool
	started   time.Time
}

// New returns a Releaser for cfg.
func New(cfg Config) *Releaser {
	if cfg.DeployTimeout <= 0 {
		cfg.DeployTimeout = DefaultDeployTimeout
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Releaser{cfg: cfg, logger: cfg.Logger.With("component", "releaser"), apps: map[string]*app{}}
}

// app returns the in-memory record of name, loading its state on first use.
func (r *Releaser) app(name string) (*app, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.apps[name]; ok {
		return a, nil
	}
	st, err := r.loadState(name)
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", name, err)
	}
	a := &app{name: name, deploy: make(chan struct{}, 1), state: st}
	r.apps[name] = a
	return a, nil
}

// Lock takes app's deploy lock, so that deploys of one app run one at a
// time. When another deploy holds it, Lock says so on out and waits. The
// returned function releases the lock.
func (r *Releaser) Lock(ctx context.Context, name string, out io.Writer) (unlock func(), err error) {
	a, err := r.app(name)
	if err != nil {
		return nil, err
	}
	select {
	case a.deploy <- struct{}{}:
	default:
		r.logger.Info("deploy waiting for the one in progress", "app", name)
		fmt.Fprintf(out, "-----> Another deploy of %s is in progress: waiting for it to finish\n", name)
		select {
		case a.deploy <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return func() { <-a.deploy }, nil
}

// NextVersion allocates the app's next release number. Numbers are
// persisted before use and never handed out twice.
func (r *Releaser) NextVersion(name string) (slipway.Version, error) {
	a, err := r.app(name)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.state
	v := st.NextVersion
	st.NextVersion++
	if err := r.saveState(name, st); err != nil {
		return 0, fmt.Errorf("save state of %s: %w", name, err)
	}
	a.state = st
	return v, nil
}

// Release starts spec's pool, health checks it and makes it live. On any
// failure the new processes are stopped and the live pool is untouched.
// Progress for the pusher goes to out. Callers hold the app's deploy lock.
func (r *Releaser) Release(ctx context.Context, spec Spec, out io.Writer) error {
	a, err := r.app(spec.App)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeployTimeout)
	defer cancel()
	p, err := r.startPool(ctx, spec, out)
	if err != nil {
		return err
	}
	a.mu.Lock()
	st := a.state
	st.Live = &spec
	if err := r.saveState(spec.App, st); err != nil {
		a.mu.Unlock()
		r.stopPool(p)
		return fmt.Errorf("save state of %s: %w", spec.App, err)
	}
	a.state = st
	old := a.live
	a.live = p
	r.cfg.Router.SetLive(p.route)
	a.mu.Unlock()
	r.logger.Info("release live", "app", spec.App, "release", spec.Version.String(), "commit", spec.Commit, "instances", len(p.instances))
	if old != nil {
		r.retire(old)
	}
	return nil
}

// startPool starts every web instance of spec and health checks them all.
func (r *Releaser) startPool(ctx context.Context, spec Spec, out io.Writer) (*pool, error) {
	p := &pool{spec: spec, started: time.Now()}
	p.route = &router.Pool{App: spec.App, Release: spec.Version.String(), StaticDir: spec.StaticDir}
	if spec.StaticDir != "" {
		fmt.Fprintf(out, "-----> Serving static files from %s\n", relTo(spec.Dir, spec.StaticDir))
		return p, nil
	}
	command, ok := spec.Procfile.Command("web")
	if !ok {
		return nil, fmt.Errorf("%w: the release has no web process: add a Procfile line \"web: COMMAND\"", slipway.ErrHealthCheck)
	}
	n := spec.AppJSON.Quantity("web", 1)
	if n < 1 {
		n = 1 // web=0 would leave the app with nothing to route to
	}
	env := r.baseEnv(spec)
	for i := 1; i <= n; i++ {
		port, err := freePort()
		if err != nil {
			r.stopPool(p)
			return nil, err
		}
		id := fmt.Sprintf("web.%d", i)
		in, err := startInstance(startSpec{
			id:      id,
			command: command,
			dir:     spec.Dir,
			env:     append(env, "DYNO="+id),
			port:    port,
			tmpDir:  filepath.Join(r.appDir(spec.App), "tmp", spec.Version.String()+"."+id),
			logPath: filepath.Join(r.appDir(spec.App), "logs", spec.Version.String(), id+".log"),
		})
		if err != nil {
			r.stopPool(p)
			return nil, err
		}
		fmt.Fprintf(out, "-----> Starting %s on port %d: %s\n", id, port, command)
		p.instances = append(p.instances, in)
	}
	errs := make([]error, len(p.instances))
	var wg sync.WaitGroup
	for i, in := range p.instances {
		wg.Go(func() { errs[i] = checkHealth(ctx, in, webChecks(spec.AppJSON), out) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for i, in := range p.instances {
			if errs[i] == nil {
				continue
			}
			for _, line := range in.logTail(10) {
				fmt.Fprintf(out, "       %s| %s\n", in.id, line)
			}
		}
		r.stopPool(p)
		return nil, firstErr(errs)
	}
	for _, in := range p.instances {
		p.route.Instances = append(p.route.Instances, &router.Instance{ID: in.id, Addr: in.addr()})
	}
	fmt.Fprintf(out, "-----> %d web instance(s) healthy\n", len(p.instances))
	return p, nil
}

// baseEnv is the environment every process of spec gets. It is built from
// scratch rather than inherited, so slipway's own settings (the admin token
// among them) never reach an app.
func (r *Releaser) baseEnv(spec Spec) []string {
	path := os.Getenv("PATH")
	if len(spec.Path) > 0 {
		path = strings.Join(spec.Path, ":") + ":" + path
	}
	home := filepath.Join(r.appDir(spec.App), "home")
	os.MkdirAll(home, 0o755)
	env := []string{
		"PATH=" + path,
		"HOME=" + home,
		"LANG=C.UTF-8",
		"SLIPWAY_APP=" + spec.App,
		"SLIPWAY_RELEASE=" + spec.Version.String(),
		"SLIPWAY_COMMIT=" + spec.Commit,
	}
	for _, k := range []string{"TZ", "USER", "LOGNAME", "SHELL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// retire stops an old pool in the background once the router has finished
// the requests in flight on it, or after the grace period.
func (r *Releaser) retire(p *pool) {
	r.retiring.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.StopGrace)
		r.cfg.Router.WaitIdle(ctx, p.route)
		cancel()
		r.stopPool(p)
		r.logger.Info("release stopped", "app", p.spec.App, "release", p.spec.Version.String())
	})
}

// stopPool stops all of p's instances in parallel.
func (r *Releaser) stopPool(p *pool) {
	var wg sync.WaitGroup
	for _, in := range p.instances {
		wg.Go(func() { in.stop(r.cfg.StopGrace) })
	}
	wg.Wait()
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func relTo(base, path string) string {
	rel, err := filepath.Rel(base, path)
	if err != nil || rel == "." {
		return "/"
	}
	return "/" + rel
}

// webChecks returns the app.json health checks of the web process, if any.
func webChecks(a *slipway.AppJSON) []slipway.Healthcheck {
	if a == nil {
		return nil
	}
	return a.Healthchecks["web"]
}
