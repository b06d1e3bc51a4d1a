// Package releaser runs releases: it starts a release's web pool, health
// checks every instance, switches the router to the new pool in one atomic
// step, keeps the old pool serving the sessions pinned to it until they go
// idle, and supervises every instance.
package releaser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/router"
	"github.com/slipway/slipway/supervisor"
)

// Defaults for Config fields left zero.
const (
	DefaultDeployTimeout = 60 * time.Second
	DefaultStopGrace     = 10 * time.Second
	DefaultSessionTTL    = 30 * time.Minute
	DefaultDrainTimeout  = 2 * time.Hour
)

// Deploy strategies. StrategyBlueGreen is slipway's; StrategyStopStart
// stops the live pool before starting the new one and exists only so the
// load tool can show what it costs.
const (
	StrategyBlueGreen = "blue-green"
	StrategyStopStart = "stop-start"
)

// Router is what the releaser needs of the router.
type Router interface {
	// SetLive makes p its app's live pool; the pool it replaces drains.
	SetLive(p *router.Pool) (old *router.Pool)
	// Retire drops a draining pool: its sessions move to the live pool.
	Retire(p *router.Pool)
	// Remove forgets an app.
	Remove(app string)
	// WaitIdle returns when no request is in flight on p, or ctx is done.
	WaitIdle(ctx context.Context, p *router.Pool) error
}

var _ Router = (*router.Router)(nil)

// Store is what the releaser needs of the history (package sqlite).
type Store interface {
	slipway.ReleaseStore
	slipway.ConfigStore
}

// Config configures a Releaser.
type Config struct {
	DataDir string
	Router  Router
	// Store is the release history and the apps' config: the releaser
	// records every status change of a release (live, failed, draining,
	// retired) and its running instances there.
	Store Store
	// DeployTimeout bounds starting and health checking a new pool.
	DeployTimeout time.Duration
	// StopGrace is how long an instance has to exit after SIGTERM before
	// it gets SIGKILL.
	StopGrace time.Duration
	// SessionTTL: a draining pool is retired once none of its sessions
	// has been seen for this long and no request is in flight on it.
	SessionTTL time.Duration
	// DrainTimeout retires a draining pool this long after it stopped
	// being live, whatever its sessions do.
	DrainTimeout time.Duration
	// Strategy is StrategyBlueGreen when empty.
	Strategy string
	// OnRestart, when set, hears of every instance restarted after it
	// exited (for metrics).
	OnRestart func(app string)
	Logger    *slog.Logger // slog.Default when nil
}

// Releaser owns every app process slipway runs.
type Releaser struct {
	cfg    Config
	layout slipway.Layout
	logger *slog.Logger

	mu   sync.Mutex
	apps map[string]*app

	retiring sync.WaitGroup // old pools being stopped in the background
	cron     *cronJobs
	stopLoop context.CancelFunc
	loopDone chan struct{}
}

// app is one app's deploy lock, persisted state and pools.
type app struct {
	name   string
	deploy chan struct{} // holds one token while a deploy of the app runs

	mu       sync.Mutex
	state    appState
	live     *pool
	draining []*pool // older releases still serving the sessions pinned to them
	workers  *workerSet
	log      *supervisor.AppLog
}

// appLog returns the log all of app's processes write to.
func (r *Releaser) appLog(name string) *supervisor.AppLog {
	a, err := r.app(name)
	if err != nil {
		return supervisor.NewAppLog(r.layout.AppLog(name))
	}
	return a.log
}

// home returns the HOME of app's processes, made on first use.
func (r *Releaser) home(app string) string {
	home := r.layout.Home(app)
	os.MkdirAll(home, 0o755)
	return home
}

// New returns a Releaser for cfg and starts its drain loop, which
// Shutdown stops.
func New(cfg Config) *Releaser {
	if cfg.DeployTimeout <= 0 {
		cfg.DeployTimeout = DefaultDeployTimeout
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Strategy == "" {
		cfg.Strategy = StrategyBlueGreen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Releaser{cfg: cfg, layout: slipway.Layout{Root: cfg.DataDir}, logger: cfg.Logger.With("component", "releaser"), apps: map[string]*app{}, cron: newCronJobs()}
	ctx, cancel := context.WithCancel(context.Background())
	r.stopLoop, r.loopDone = cancel, make(chan struct{})
	go r.drainLoop(ctx)
	return r
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
	a := &app{name: name, deploy: make(chan struct{}, 1), state: st,
		log: supervisor.NewAppLog(r.layout.AppLog(name))}
	r.apps[name] = a
	return a, nil
}

// scale returns the instance count of process type typ: the one set with
// ps:scale, else def (app.json's formation). At least 1 for web, which
// would otherwise leave nothing to route to.
func (a *app) scale(typ string, def int) int {
	a.mu.Lock()
	n, ok := a.state.Scale[typ]
	a.mu.Unlock()
	if !ok {
		n = def
	}
	if typ == "web" && n < 1 {
		n = 1
	}
	return n
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

// Release starts spec's pool, health checks every instance and makes it
// live in one atomic switch. The pool it replaces keeps serving the
// sessions pinned to it until they go idle (see drain.go). On any failure
// the new processes are stopped and the live pool is untouched. Progress
// for the pusher goes to out. Callers hold the app's deploy lock.
func (r *Releaser) Release(ctx context.Context, spec Spec, out io.Writer) error {
	a, err := r.app(spec.App)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeployTimeout)
	defer cancel()
	err = r.release(ctx, a, spec, out)
	if err != nil {
		r.update(spec.App, spec.Version, func(rel *slipway.Release) {
			rel.Status, rel.FinishedAt, rel.Failure = slipway.StatusFailed, time.Now(), slipway.ErrorMessage(err)
		})
	}
	return err
}

func (r *Releaser) release(ctx context.Context, a *app, spec Spec, out io.Writer) error {
	if err := checkCron(spec); err != nil {
		return err
	}
	p, err := r.newPool(spec)
	if err != nil {
		return err
	}
	if r.cfg.Strategy == StrategyStopStart {
		r.stopLive(a)
	}
	if spec.StaticDir != "" {
		fmt.Fprintf(out, "-----> Serving static files from %s\n", relTo(spec.Dir, spec.StaticDir))
	} else if p.command != "" {
		n := a.scale("web", spec.AppJSON.Quantity("web", 1))
		members, err := r.startInstances(ctx, p, 1, n, out)
		if err != nil {
			return err
		}
		p.setMembers(members)
		fmt.Fprintf(out, "-----> %d web instance(s) healthy\n", len(members))
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
	r.switchTo(a, p)
	a.mu.Unlock()
	r.swapWorkers(a, spec, spec.Version, out)
	return nil
}

// Deploy runs the release phase of spec, then Release: what a push and a
// config change do (a rollback and a restart skip the release phase).
func (r *Releaser) Deploy(ctx context.Context, spec Spec, out io.Writer) error {
	if err := r.ReleasePhase(ctx, spec, out); err != nil {
		r.update(spec.App, spec.Version, func(rel *slipway.Release) {
			rel.Status, rel.FinishedAt, rel.Failure = slipway.StatusFailed, time.Now(), slipway.ErrorMessage(err)
		})
		return err
	}
	return r.Release(ctx, spec, out)
}

// switchTo makes p the app's live pool in the router and the history; the
// pool it replaces drains. Callers hold a.mu.
func (r *Releaser) switchTo(a *app, p *pool) {
	old := a.live
	a.live = p
	if old != nil {
		a.draining = append(a.draining, old)
	}
	r.cfg.Router.SetLive(p.routePool())
	now := time.Now()
	specJSON, _ := json.Marshal(p.spec)
	r.update(a.name, p.version, func(rel *slipway.Release) {
		rel.Status, rel.StartedAt, rel.Spec, rel.Dir = slipway.StatusLive, now, specJSON, p.spec.Dir
	})
	r.recordInstances(a.name, p)
	r.logger.Info("release live", "app", a.name, "release", p.version.String(), "commit", p.spec.Commit, "instances", len(p.members()))
	if old != nil {
		r.update(a.name, old.version, func(rel *slipway.Release) { rel.Status = slipway.StatusDraining })
		r.logger.Info("release draining", "app", a.name, "release", old.version.String())
	}
}

// update changes the history record of release v of app. The history is
// not allowed to stop a deploy: a failure is logged.
func (r *Releaser) update(app string, v slipway.Version, change func(*slipway.Release)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rel, err := r.cfg.Store.FindRelease(ctx, app, v)
	if err == nil {
		change(rel)
		err = r.cfg.Store.UpdateRelease(ctx, rel)
	}
	if err != nil {
		r.logger.Error("record release", "app", app, "release", v.String(), "err", err)
	}
}

// recordInstances keeps p's running instances in the history.
func (r *Releaser) recordInstances(app string, p *pool) {
	var recs []slipway.InstanceRecord
	for _, s := range p.members() {
		in := s.sup.Info()
		recs = append(recs, slipway.InstanceRecord{
			Release: p.version, ID: in.ID, PID: in.PID, Port: s.port, State: in.State, StartedAt: in.Since,
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.cfg.Store.SetInstances(ctx, app, p.version, recs); err != nil {
		r.logger.Error("record instances", "app", app, "release", p.version.String(), "err", err)
	}
}

// stopLive stops the live pool before a new one starts: the naive
// stop-then-start deploy, kept only so the load tool can compare.
func (r *Releaser) stopLive(a *app) {
	a.mu.Lock()
	old := a.live
	a.live = nil
	a.mu.Unlock()
	if old == nil {
		return
	}
	r.cfg.Router.Remove(a.name)
	r.stopPool(old)
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// relTo shows path relative to base, for a progress line.
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
