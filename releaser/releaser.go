package releaser

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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
	DefaultMaxDraining   = 3
	// DefaultDrainSleepAfter is how long a draining pool waits for a
	// request before it sleeps.
	DefaultDrainSleepAfter = 60 * time.Second
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
	// Sleep puts a draining pool to sleep, wake to be called by its first
	// pinned request; Replace swaps a draining pool for another of its
	// release (the awake one).
	Sleep(p *router.Pool, wake func(sleeping *router.Pool) error) *router.Pool
	Replace(old, next *router.Pool) bool
	// Wake wakes a sleeping pool as its next request would.
	Wake(ctx context.Context, p *router.Pool) error
}

var _ Router = (*router.Router)(nil)

// Recorder keeps the history of what the releaser does to releases; the
// application layer implements it.
type Recorder interface {
	// Live is called when release v of app, run from spec with the
	// instances recs, is about to become live, before the router switches
	// to it, so that the history (and a restart, which adopts the
	// instances) never lags behind what serves: the instances are recorded
	// first. The release live until then becomes draining. An error aborts
	// the switch.
	Live(app string, v slipway.Version, spec Spec, recs []slipway.InstanceRecord) error
	// Retired is called once the pool of release v has stopped serving.
	Retired(app string, v slipway.Version)
	// Instances is called with the instances of release v whenever they
	// change; nil once its pool has stopped.
	Instances(app string, v slipway.Version, recs []slipway.InstanceRecord)
	// Sleeping is called when the draining pool of release v sleeps
	// (since when) and when it wakes (the zero time), so that a restart
	// takes it back as it was.
	Sleeping(app string, v slipway.Version, since time.Time)
}

// Config configures a Releaser.
type Config struct {
	DataDir string
	Router  Router
	// Recorder hears of every status change of a release; nil records
	// nothing.
	Recorder Recorder
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
	// MaxDraining is how many draining pools an app keeps at most: beyond
	// it the oldest is retired, its sessions moving to the live pool.
	MaxDraining int
	// DrainSleepAfter: a draining pool that no request reached for this
	// long sleeps (its processes stop; a pinned request wakes it); 0 takes
	// DefaultDrainSleepAfter, a negative value never sleeps one.
	DrainSleepAfter time.Duration
	// OnSleep and OnWake, when set, hear of every pool that sleeps and
	// every one that wakes, with how long the wake took (for metrics).
	OnSleep func(app string)
	OnWake  func(app string, took time.Duration)
	// Strategy is StrategyBlueGreen when empty.
	Strategy string
	// Sandbox, when set, returns the sandbox of app's processes of type
	// process (web, worker, release, cron): its identity when slipway is
	// root, its limits and cgroup; the releaser adds the release to read,
	// HOME to write, the port to listen on and the instance to the cgroup's
	// name. Nil runs processes as slipway itself; an error keeps the
	// process from starting.
	Sandbox func(app, process string) (*supervisor.Sandbox, error)
	// OnRestart, when set, hears of every instance restarted after it
	// exited (for metrics).
	OnRestart func(app string)
	// AppLogs is the apps' logs, shared with the router's access lines
	// and told to the drains; nil keeps logs of the releaser's own.
	AppLogs *supervisor.AppLogs
	// OnCrash, when set, hears of every instance of release v of app
	// that exited on its own (instance "web.1", exit how it ended), before
	// it is restarted; loop is how many times in a row it has exited
	// without a stable run when that makes a crash loop, else 0 (for the
	// webhooks).
	OnCrash func(app string, v slipway.Version, instance, exit string, loop int)
	Logger  *slog.Logger // slog.Default when nil
}

// Releaser owns every app process slipway runs. The calls that change an
// app (Release, Scale, Restart, Promote, Forget) must not run at once for
// one app: the application layer serializes them with the app's lock.
type Releaser struct {
	cfg    Config
	layout slipway.Layout
	logger *slog.Logger

	mu   sync.Mutex
	apps map[string]*app

	retiring sync.WaitGroup // old pools being stopped in the background
	detached atomic.Bool    // Detach: nothing is retired or run by cron
	drainMu  sync.Mutex     // held by a pass of the drain loop

	detachedMu sync.Mutex
	oneOffs    map[*supervisor.Process]bool // run:detached processes running
	oneOffWG   sync.WaitGroup               // their waiters
	cron       *cronJobs
	stopLoop   context.CancelFunc
	loopDone   chan struct{}
}

// app is one app's pools and processes.
type app struct {
	name string

	mu       sync.Mutex
	scaleSet map[string]int // ps:scale's counts, from the last Release or Scale
	live     *pool
	draining []*pool // older releases still serving the sessions pinned to them
	workers  *workerSet
	log      *supervisor.AppLog
	// autosleep, when set, puts the live pool to sleep after that long
	// without a request (ps:autosleep), and its workers with it when
	// sleepWorkers is set.
	autosleep    time.Duration
	sleepWorkers bool
}

// appLog returns the log all of app's processes write to.
func (r *Releaser) appLog(name string) *supervisor.AppLog { return r.app(name).log }

// home returns the HOME of app's processes, made on first use.
func (r *Releaser) home(app string) string {
	home := r.layout.Home(app)
	os.MkdirAll(home, 0o755)
	return home
}

// New returns a Releaser for cfg. Start starts its drain loop, and
// Shutdown stops it with every process.
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
	if cfg.MaxDraining <= 0 {
		cfg.MaxDraining = DefaultMaxDraining
	}
	if cfg.DrainSleepAfter == 0 {
		cfg.DrainSleepAfter = DefaultDrainSleepAfter
	}
	if cfg.Strategy == "" {
		cfg.Strategy = StrategyBlueGreen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Recorder == nil {
		cfg.Recorder = noRecorder{}
	}
	if cfg.AppLogs == nil {
		cfg.AppLogs = supervisor.NewAppLogs(slipway.Layout{Root: cfg.DataDir}, nil)
	}
	return &Releaser{cfg: cfg, layout: slipway.Layout{Root: cfg.DataDir}, logger: cfg.Logger.With("component", "releaser"),
		apps: map[string]*app{}, oneOffs: map[*supervisor.Process]bool{}}
}

// Start starts the drain loop, which retires idle draining pools, and the
// cron scheduler.
func (r *Releaser) Start() {
	r.cron = newCronJobs()
	ctx, cancel := context.WithCancel(context.Background())
	r.stopLoop, r.loopDone = cancel, make(chan struct{})
	go r.drainLoop(ctx)
}

// StopGrace is how long a process gets after SIGTERM: the bound of
// stopping an app.
func (r *Releaser) StopGrace() time.Duration { return r.cfg.StopGrace }

// app returns the in-memory record of name, made on first use.
func (r *Releaser) app(name string) *app {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.apps[name]
	if !ok {
		a = &app{name: name, log: r.cfg.AppLogs.For(name)}
		r.apps[name] = a
	}
	return a
}

// scale returns the instance count of process type typ: the one set with
// ps:scale, else def (app.json's formation). At least 1 for web, which
// would otherwise leave nothing to route to.
func (a *app) scale(typ string, def int) int {
	a.mu.Lock()
	n, ok := a.scaleSet[typ]
	a.mu.Unlock()
	if !ok {
		n = def
	}
	if typ == "web" && n < 1 {
		n = 1
	}
	return n
}

// Release starts spec's pool, health checks every instance and makes it
// live in one atomic switch. The pool it replaces keeps serving the
// sessions pinned to it until they go idle (see drain.go). On any failure
// the new processes are stopped and the live pool is untouched. Progress
// for the pusher goes to out.
func (r *Releaser) Release(ctx context.Context, spec Spec, out io.Writer) error {
	a := r.app(spec.App)
	a.mu.Lock()
	a.scaleSet = spec.Scale
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeployTimeout)
	defer cancel()
	if err := CheckCron(spec); err != nil {
		return err
	}
	if err := checkCaps(a, spec, "", 0); err != nil {
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
	if err := r.switchTo(a, p); err != nil {
		r.stopPool(p)
		return err
	}
	r.swapWorkers(a, spec, spec.Version, out)
	return nil
}

// switchTo records p as the app's live pool, then makes it live in the
// router; the pool it replaces drains.
func (r *Releaser) switchTo(a *app, p *pool) error {
	if err := r.cfg.Recorder.Live(a.name, p.version, p.spec, r.instanceRecords(a, p, false)); err != nil {
		return fmt.Errorf("record %s %s as live: %w", a.name, p.version, err)
	}
	a.mu.Lock()
	old := a.live
	a.live = p
	if old != nil {
		a.draining = append(a.draining, old)
	}
	r.cfg.Router.SetLive(p.routePool())
	a.mu.Unlock()
	r.recordInstances(a.name, p)
	r.logger.Info("release live", "app", a.name, "release", p.version.String(), "commit", p.spec.Commit, "instances", len(p.members()))
	if old != nil {
		r.logger.Info("release draining", "app", a.name, "release", old.version.String())
	}
	return nil
}

// recordInstances reports p's instances to the history, with the
// workers when p is the live pool: every process slipway must find again
// after a crash.
func (r *Releaser) recordInstances(app string, p *pool) {
	a := r.app(app)
	a.mu.Lock()
	live := a.live == p
	a.mu.Unlock()
	r.cfg.Recorder.Instances(app, p.version, r.instanceRecords(a, p, live))
}

// instanceRecords returns p's instances as the history records them, with
// a's workers if workers.
func (r *Releaser) instanceRecords(a *app, p *pool, workers bool) []slipway.InstanceRecord {
	var recs []slipway.InstanceRecord
	exact := r.detached.Load() // the copy of the logs has stopped: its offset is exact
	add := func(in supervisor.Info, port int) {
		if !exact {
			in.LogOffset = -1 // still moving: a slipway that takes over starts at the end
		}
		recs = append(recs, slipway.InstanceRecord{
			Release: p.version, ID: in.ID, PID: in.PID, Port: port, State: in.State, StartedAt: in.Since, StartTicks: in.StartTicks,
			Cgroup: in.Cgroup, TmpDir: in.TmpDir, LogOffset: in.LogOffset,
		})
	}
	for _, s := range p.members() {
		add(s.sup.Info(), s.port)
	}
	if workers {
		for _, w := range a.workersList() {
			add(w.sup.Info(), 0)
		}
	}
	return recs
}

// recordLive reports the live pool and workers of a to the history.
func (r *Releaser) recordLive(a *app) {
	a.mu.Lock()
	p := a.live
	a.mu.Unlock()
	if p != nil {
		r.recordInstances(a.name, p)
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

// noRecorder is the Recorder of a Releaser configured without one.
type noRecorder struct{}

func (noRecorder) Live(string, slipway.Version, Spec, []slipway.InstanceRecord) error { return nil }
func (noRecorder) Retired(string, slipway.Version)                                    {}
func (noRecorder) Instances(string, slipway.Version, []slipway.InstanceRecord)        {}
func (noRecorder) Sleeping(string, slipway.Version, time.Time)                        {}

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
