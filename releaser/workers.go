package releaser

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// workerSet is the non-web processes of the live release: every Procfile
// type but web and release, each with its quantity of instances and no
// port. Only the live release runs workers: a singleton worker never runs
// twice.
type workerSet struct {
	version slipway.Version
	mu      sync.Mutex
	members []*worker
}

func (w *workerSet) list() []*worker {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*worker(nil), w.members...)
}

// workerTypes returns the process types of spec that run as workers.
func workerTypes(spec Spec) []slipway.Process {
	var out []slipway.Process
	for _, p := range spec.Procfile {
		if p.Type != "web" && p.Type != "release" {
			out = append(out, p)
		}
	}
	return out
}

// overlaps reports whether process type typ of spec may run next to the
// previous release's instances during a deploy (app.json
// formation.TYPE.overlap); by default the old ones stop first.
func overlaps(spec Spec, typ string) bool {
	if spec.AppJSON == nil {
		return false
	}
	f, ok := spec.AppJSON.Formation[typ]
	return ok && f.Overlap
}

// swapWorkers replaces the app's workers with those of spec, now live:
// types that may not overlap are stopped before their new instances start,
// the others after. Callers hold the app's deploy lock.
func (r *Releaser) swapWorkers(a *app, spec Spec, version slipway.Version, out io.Writer) {
	a.mu.Lock()
	old := a.workers
	a.mu.Unlock()
	byType := map[string][]*worker{}
	for _, s := range old.list() {
		byType[s.typ] = append(byType[s.typ], s)
	}
	next := &workerSet{version: version}
	var later []*worker
	for _, proc := range workerTypes(spec) {
		if overlaps(spec, proc.Type) {
			later = append(later, byType[proc.Type]...)
		} else {
			r.stopAll(byType[proc.Type])
		}
		delete(byType, proc.Type)
		n := a.scale(proc.Type, spec.AppJSON.Quantity(proc.Type, 1))
		for i := 1; i <= n; i++ {
			s, err := r.startWorker(a.name, spec, version, proc, i)
			if err != nil {
				fmt.Fprintf(out, " !     %s.%d did not start: %v\n", proc.Type, i, err)
				r.logger.Error("worker start", "app", a.name, "instance", fmt.Sprintf("%s.%d", proc.Type, i), "err", err)
				continue
			}
			next.members = append(next.members, s)
		}
		if n > 0 {
			fmt.Fprintf(out, "-----> Started %d %s instance(s)\n", n, proc.Type)
		}
	}
	for _, gone := range byType { // types the new release no longer has
		r.stopAll(gone)
	}
	a.mu.Lock()
	a.workers = next
	a.mu.Unlock()
	r.recordLive(a)
	r.stopAll(later)
	r.schedule(a.name, spec, version, out)
}

// startWorker starts instance i of worker process proc and supervises it.
func (r *Releaser) startWorker(app string, spec Spec, version slipway.Version, proc slipway.Process, i int) (*worker, error) {
	id := fmt.Sprintf("%s.%d", proc.Type, i)
	spec.Version = version
	ps, err := r.processSpec(spec, id, proc.Command, 0)
	if err != nil {
		return nil, err
	}
	p, err := supervisor.Start(ps)
	if err != nil {
		return nil, err
	}
	return r.superviseWorker(app, version, proc.Type, ps, p), nil
}

// superviseWorker makes p a worker of type typ, restarted from ps
// whenever it exits.
func (r *Releaser) superviseWorker(app string, version slipway.Version, typ string, ps supervisor.Spec, p *supervisor.Process) *worker {
	sup := supervisor.Supervise(p, func() (*supervisor.Process, error) { return supervisor.Start(ps) }, supervisor.Hooks{
		Restarted: r.onRestart(app),
		Exited:    r.onExit(Spec{App: app, Version: version}, ps.ID),
		Up:        func() { r.recordLive(r.app(app)) }, // a new pid the history must know
		StopGrace: r.cfg.StopGrace,
		Logger:    r.logger.With("app", app, "release", version.String()),
	})
	return &worker{typ: typ, sup: sup}
}

// stopAll stops workers in parallel.
func (r *Releaser) stopAll(list []*worker) {
	var wg sync.WaitGroup
	for _, w := range list {
		wg.Go(w.sup.Stop)
	}
	wg.Wait()
}

// ReleasePhase runs the Procfile's release command once, in the release
// directory with the release's config, before any instance of the release
// starts (Heroku's release phase: database migrations and the like). Its
// output goes to out. A non-zero exit aborts the deploy.
func (r *Releaser) ReleasePhase(ctx context.Context, spec Spec, out io.Writer) error {
	command, ok := spec.Procfile.Command("release")
	if !ok {
		return nil
	}
	fmt.Fprintf(out, "-----> Running release command: %s\n", command)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeployTimeout)
	defer cancel()
	id := "release.1"
	ps, err := r.processSpec(spec, id, command, 0)
	if err != nil {
		return err
	}
	in, err := supervisor.Start(ps)
	if err != nil {
		return err
	}
	defer in.Stop(r.cfg.StopGrace)
	select {
	case <-in.Exited():
	case <-ctx.Done():
		in.Stop(time.Second)
		return slipway.Errorf(slipway.EINVALID, "release command timed out after %s: the deploy is aborted", r.cfg.DeployTimeout)
	}
	for _, line := range in.LogTail(200) {
		fmt.Fprintf(out, "       %s\n", line)
	}
	if in.Err() != nil {
		return slipway.Errorf(slipway.EINVALID, "release command %s: the deploy is aborted and the live release keeps serving", in.ExitText())
	}
	return nil
}

// RunOneOff runs argv once as process id (run.N) of spec's release: its
// directory, config, HOME, sandbox and limits, attached to t; it returns
// the exit status. As on Heroku, it has a PORT of its own that it may
// listen on, but nothing routes to it.
func (r *Releaser) RunOneOff(ctx context.Context, spec Spec, id string, argv []string, t slipway.Terminal) (int, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	ps, err := r.processSpec(spec, id, "", port)
	if err != nil {
		return 0, err
	}
	return supervisor.Interactive(ctx, ps, argv, t)
}

// LogLine writes a line of slipway's into app's log, as process id of
// release.
func (r *Releaser) LogLine(app, id, release, text string) {
	r.appLog(app).Line(id, release, []byte("slipway: "+text))
}

// RunDetached starts command once as process id (run.N) of spec's
// release in the background, with a PORT as RunOneOff's, its output in
// the app's log, and logs how it ended (run:detached). Shutdown stops it
// with the rest.
func (r *Releaser) RunDetached(spec Spec, id, command string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	ps, err := r.processSpec(spec, id, command, port)
	if err != nil {
		return err
	}
	p, err := supervisor.Start(ps)
	if err != nil {
		return err
	}
	r.detachedMu.Lock()
	r.oneOffs[p] = true
	r.detachedMu.Unlock()
	r.oneOffWG.Go(func() {
		<-p.Exited()
		p.Stop(r.cfg.StopGrace)
		r.detachedMu.Lock()
		delete(r.oneOffs, p)
		r.detachedMu.Unlock()
		r.LogLine(spec.App, id, spec.Version.String(), id+" "+p.ExitText())
	})
	return nil
}

// stopOneOffs stops the detached one-off processes still running.
func (r *Releaser) stopOneOffs() {
	r.detachedMu.Lock()
	list := make([]*supervisor.Process, 0, len(r.oneOffs))
	for p := range r.oneOffs {
		list = append(list, p)
	}
	r.detachedMu.Unlock()
	var wg sync.WaitGroup
	for _, p := range list {
		wg.Go(func() { p.Stop(r.cfg.StopGrace) })
	}
	wg.Wait()
}
