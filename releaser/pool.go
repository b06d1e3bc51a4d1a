package releaser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/router"
)

// pool is the running web processes of one release.
type pool struct {
	spec Spec
	// version is the release of the history the pool serves as: spec's,
	// or a later rollback's that re-promoted the pool while it drained.
	version slipway.Version
	command string // the web command
	env     []string
	started time.Time

	mu        sync.Mutex
	instances []*supervised
	route     *router.Pool // what the router routes by; replaced when scaling
}

// members returns the pool's instances.
func (p *pool) members() []*supervised {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*supervised(nil), p.instances...)
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
	p.env = r.baseEnv(spec)
	return p, nil
}

// startInstances starts instances web.from … web.to of p, health checks
// them all, and returns them. On any failure every one of them is stopped
// and the error says which failed and why, with the end of its output on out.
func (r *Releaser) startInstances(ctx context.Context, p *pool, from, to int, out io.Writer) ([]*supervised, error) {
	var started []*supervised
	fail := func(err error) ([]*supervised, error) {
		for _, s := range started {
			s.route.SetHealthy(false)
			s.cur.stop(r.cfg.StopGrace)
		}
		return nil, err
	}
	for i := from; i <= to; i++ {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		id := fmt.Sprintf("web.%d", i)
		spec := startSpec{
			id:      id,
			command: p.command,
			dir:     p.spec.Dir,
			env:     append(p.env[:len(p.env):len(p.env)], "DYNO="+id),
			port:    port,
			tmpDir:  filepath.Join(r.appDir(p.spec.App), "tmp", p.spec.Version.String()+"."+id),
			logPath: filepath.Join(r.appDir(p.spec.App), "logs", p.spec.Version.String(), id+".log"),
			appLog:  r.appLog(p.spec.App),
			release: p.spec.Version.String(),
		}
		in, err := startInstance(spec)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "-----> Starting %s on port %d: %s\n", id, port, p.command)
		started = append(started, newSupervised(id, "web", port, in, func() (*instance, error) { return startInstance(spec) }))
	}
	errs := make([]error, len(started))
	var wg sync.WaitGroup
	for i, s := range started {
		wg.Go(func() { errs[i] = checkHealth(ctx, s.cur, webChecks(p.spec.AppJSON), out) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for i, s := range started {
			if errs[i] == nil {
				continue
			}
			for _, line := range s.cur.logTail(10) {
				fmt.Fprintf(out, "       %s| %s\n", s.id, line)
			}
		}
		return fail(firstErr(errs))
	}
	for _, s := range started {
		s.state = StateUp
		go r.watch(s, p.spec.App, p.spec.Version.String())
	}
	return started, nil
}

// stopPool stops all of p's instances in parallel.
func (r *Releaser) stopPool(p *pool) {
	var wg sync.WaitGroup
	for _, s := range p.members() {
		wg.Go(func() { s.stop(r.cfg.StopGrace) })
	}
	wg.Wait()
}

// setMembers replaces p's instances and builds the router's view of them.
func (p *pool) setMembers(members []*supervised) *router.Pool {
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
