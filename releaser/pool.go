package releaser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/router"
	"github.com/slipway/slipway/supervisor"
)

// pool is the running web processes of one release.
type pool struct {
	spec Spec
	// version is the release of the history the pool serves as: spec's,
	// or a later rollback's that re-promoted the pool while it drained.
	version slipway.Version
	command string // the web command
	started time.Time

	mu        sync.Mutex
	instances []*instance
	route     *router.Pool // what the router routes by; replaced when scaling, sleeping and waking
	asleep    time.Time    // since when it sleeps (its processes stopped); zero while awake
	woke      time.Time    // when it last woke: an idle live pool counts from then
}

// sleepingSince returns since when p sleeps, or the zero time.
func (p *pool) sleepingSince() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.asleep
}

// members returns the pool's instances.
func (p *pool) members() []*instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*instance(nil), p.instances...)
}

// routePool returns the router's view of the pool.
func (p *pool) routePool() *router.Pool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.route
}

// newPool prepares a pool for spec without starting anything.
func (r *Releaser) newPool(spec Spec) (*pool, error) {
	p := &pool{spec: spec, version: spec.Version, started: time.Now()}
	p.route = &router.Pool{App: spec.App, Release: spec.Version.String(), StaticDir: spec.StaticDir}
	if spec.StaticDir != "" {
		return p, nil
	}
	command, ok := spec.Procfile.Command("web")
	if !ok && len(workerTypes(spec)) == 0 {
		return nil, fmt.Errorf("%w: the release has no process to run: add a Procfile line \"web: COMMAND\"", slipway.ErrHealthCheck)
	}
	p.command = command
	return p, nil
}

// startInstances starts instances web.from … web.to of p, health checks
// them all, and returns them, supervised. On any failure every one of them
// is stopped and the error says which failed and why, with the end of its
// output on out.
func (r *Releaser) startInstances(ctx context.Context, p *pool, from, to int, out io.Writer) ([]*instance, error) {
	type started struct {
		id   string
		port int
		spec supervisor.Spec
		proc *supervisor.Process
	}
	var all []started
	fail := func(err error) ([]*instance, error) {
		for _, s := range all {
			s.proc.Stop(r.cfg.StopGrace)
		}
		return nil, err
	}
	for i := from; i <= to; i++ {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		id := fmt.Sprintf("web.%d", i)
		spec, err := r.processSpec(p.spec, id, p.command, port)
		if err != nil {
			return fail(err)
		}
		proc, err := supervisor.Start(spec)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "-----> Starting %s on port %d: %s\n", id, port, p.command)
		all = append(all, started{id, port, spec, proc})
	}
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Go(func() { errs[i] = checkHealth(ctx, target{s.proc, s.port}, webChecks(p.spec.AppJSON), out) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for i, s := range all {
			if errs[i] == nil {
				continue
			}
			for _, line := range s.proc.LogTail(10) {
				fmt.Fprintf(out, "       %s| %s\n", s.id, line)
			}
		}
		return fail(firstErr(errs))
	}
	members := make([]*instance, 0, len(all))
	for _, s := range all {
		members = append(members, r.supervise(p, s.id, s.port, s.spec, s.proc))
	}
	return members, nil
}

// supervise makes proc, healthy, web instance id of p on port, restarted
// from spec whenever it exits.
func (r *Releaser) supervise(p *pool, id string, port int, spec supervisor.Spec, proc *supervisor.Process) *instance {
	in := &instance{id: id, port: port, route: &router.Instance{ID: id, Addr: target{port: port}.addr()}}
	in.sup = supervisor.Supervise(proc, func() (*supervisor.Process, error) { return supervisor.Start(spec) }, supervisor.Hooks{
		Check: func(ctx context.Context, proc *supervisor.Process) error {
			return checkHealth(ctx, target{proc, port}, nil, io.Discard)
		},
		CheckTimeout: r.cfg.DeployTimeout,
		Down:         func() { in.route.SetHealthy(false) },
		Up: func() { // back in rotation, under a new pid the history must know
			in.route.SetHealthy(true)
			r.recordInstances(p.spec.App, p)
		},
		Restarted: r.onRestart(p.spec.App),
		Exited:    r.onExit(p.spec, id),
		StopGrace: r.cfg.StopGrace,
		Logger:    r.logger.With("app", p.spec.App, "release", p.spec.Version.String()),
	})
	return in
}

// onExit returns the Exited hook of instance id of spec's release: a line
// of slipway's in the app's log, so that `logs` shows a crash, and
// OnCrash.
func (r *Releaser) onExit(spec Spec, id string) func(string, time.Duration, int) {
	return func(exit string, in time.Duration, loop int) {
		looping := ""
		if loop > 0 {
			looping = fmt.Sprintf("; crash loop, %d exits in a row", loop)
		}
		r.appLog(spec.App).Line(id, spec.Version.String(), []byte("slipway: "+id+" "+exit+looping+"; restarting in "+in.String()))
		if r.cfg.OnCrash != nil {
			r.cfg.OnCrash(spec.App, spec.Version, id, exit, loop)
		}
	}
}

// onRestart returns the Restarted hook of app's instances.
func (r *Releaser) onRestart(app string) func() {
	if r.cfg.OnRestart == nil {
		return nil
	}
	return func() { r.cfg.OnRestart(app) }
}

// stopPool stops all of p's instances in parallel.
func (r *Releaser) stopPool(p *pool) {
	var wg sync.WaitGroup
	for _, in := range p.members() {
		wg.Go(in.stop)
	}
	wg.Wait()
}

// setMembers replaces p's instances and builds the router's view of them.
func (p *pool) setMembers(members []*instance) *router.Pool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.instances = members
	rp := &router.Pool{App: p.spec.App, Release: p.spec.Version.String(), StaticDir: p.spec.StaticDir}
	for _, s := range members {
		rp.Instances = append(rp.Instances, s.route)
	}
	p.route = rp
	return rp
}
