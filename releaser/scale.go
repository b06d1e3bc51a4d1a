package releaser

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// MaxScale bounds the instances of one process type.
const MaxScale = 32

// Scale sets how many instances of process type typ the app runs and
// applies it to the live pool at once, without a new release: new
// instances are started and health checked before the router sees them,
// and removed ones leave the router before they are stopped. The count
// is kept for later releases (the caller persists it first).
func (r *Releaser) Scale(ctx context.Context, name, typ string, n int, out io.Writer) error {
	if err := r.CheckScale(name, typ, n); err != nil {
		return err
	}
	if typ != "web" {
		return r.scaleWorkers(name, typ, n, out)
	}
	a, p, _ := r.livePool(name, "scale", true)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeployTimeout)
	defer cancel()
	current := p.members()
	var removed []*instance
	switch {
	case n > len(current):
		added, err := r.startInstances(ctx, p, len(current)+1, n, out)
		if err != nil {
			return err
		}
		current = append(current, added...)
	case n < len(current):
		current, removed = current[:n], current[n:]
	}
	a.mu.Lock()
	a.setScale(typ, n)
	if a.live == p {
		r.cfg.Router.SetLive(p.setMembers(current))
	}
	a.mu.Unlock()
	r.recordInstances(name, p)
	for _, in := range removed {
		r.retiring.Go(in.stop)
	}
	r.logger.Info("scaled", "app", name, "process", typ, "instances", n)
	fmt.Fprintf(out, "Scaled %s to web=%d (%s)\n", name, n, p.version)
	return nil
}

// Instance states, as `ps` shows them: the process layer's.
const (
	StateStarting = supervisor.StateStarting
	StateUp       = supervisor.StateUp
	StateCrashed  = supervisor.StateCrashed
	StateStopped  = supervisor.StateStopped
)

// ProcessStatus is one running process (slipway.ProcessStatus).
type ProcessStatus = slipway.ProcessStatus

// Processes lists the app's instances: the live pool's, then the draining
// pools', newest first.
func (r *Releaser) Processes(name string) []ProcessStatus {
	a := r.app(name)
	a.mu.Lock()
	pools := []*pool{}
	if a.live != nil {
		pools = append(pools, a.live)
	}
	for i := len(a.draining) - 1; i >= 0; i-- {
		pools = append(pools, a.draining[i])
	}
	live := a.live
	a.mu.Unlock()
	var out []ProcessStatus
	if live != nil {
		for _, w := range a.workersList() {
			in := w.sup.Info()
			out = append(out, ProcessStatus{ID: in.ID, Release: live.version, Live: true, PID: in.PID, State: in.State, LastExit: in.LastExit, Since: in.Since, Restarts: in.Restarts, Cgroup: in.Cgroup})
		}
	}
	for _, p := range pools {
		for _, s := range p.members() {
			in := s.sup.Info()
			out = append(out, ProcessStatus{
				ID: in.ID, Release: p.version, Live: p == live, PID: in.PID, Port: s.port,
				State: in.State, LastExit: in.LastExit, Since: in.Since, Restarts: in.Restarts, Cgroup: in.Cgroup,
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Release > out[j].Release })
	return out
}

// setScale records the instance count of typ. Callers hold a.mu.
func (a *app) setScale(typ string, n int) {
	scale := make(map[string]int, len(a.scaleSet)+1)
	for k, v := range a.scaleSet {
		scale[k] = v
	}
	scale[typ] = n
	a.scaleSet = scale
}

func (a *app) workersList() []*worker {
	a.mu.Lock()
	w := a.workers
	a.mu.Unlock()
	return w.list()
}

// CheckScale returns the error Scale refuses typ=n with, changing
// nothing: a count out of range, no live release, or a type the live
// release does not have.
func (r *Releaser) CheckScale(name, typ string, n int) error {
	a := r.app(name)
	a.mu.Lock()
	live := a.live
	a.mu.Unlock()
	if live != nil {
		if err := checkCaps(a, live.spec, typ, n); err != nil {
			return err
		}
	}
	if typ == "web" {
		if n < 1 || n > MaxScale {
			return slipway.Errorf(slipway.EINVALID, "web=%d: use 1 to %d", n, MaxScale)
		}
		_, _, err := r.livePool(name, "scale", true)
		return err
	}
	if n < 0 || n > MaxScale {
		return slipway.Errorf(slipway.EINVALID, "%s=%d: use 0 to %d", typ, n, MaxScale)
	}
	_, p, err := r.livePool(name, "scale", false)
	if err != nil {
		return err
	}
	if workerType(p.spec, typ) == nil {
		return slipway.Errorf(slipway.EINVALID, "%s %s has no process type %q in its Procfile", name, p.version, typ)
	}
	return nil
}

// workerType returns the worker process type typ of spec, or nil.
func workerType(spec Spec, typ string) *slipway.Process {
	for _, pr := range workerTypes(spec) {
		if pr.Type == typ {
			return &pr
		}
	}
	return nil
}

// scaleWorkers sets the instance count of a non-web process type of the
// live release, starting or stopping instances at once.
func (r *Releaser) scaleWorkers(name, typ string, n int, out io.Writer) error {
	a, p, _ := r.livePool(name, "scale", false)
	proc := workerType(p.spec, typ)
	a.mu.Lock()
	w := a.workers
	if w == nil {
		w = &workerSet{version: p.version}
		a.workers = w
	}
	a.setScale(typ, n)
	a.mu.Unlock()
	var keep, stop []*worker
	count := 0
	for _, s := range w.list() {
		if s.typ == typ {
			if count < n {
				keep = append(keep, s)
			} else {
				stop = append(stop, s)
			}
			count++
			continue
		}
		keep = append(keep, s)
	}
	for i := count + 1; i <= n; i++ {
		s, err := r.startWorker(name, p.spec, p.version, *proc, i)
		if err != nil {
			return err
		}
		keep = append(keep, s)
	}
	w.mu.Lock()
	w.members = keep
	w.mu.Unlock()
	r.recordLive(a)
	r.stopAll(stop)
	r.logger.Info("scaled", "app", name, "process", typ, "instances", n)
	fmt.Fprintf(out, "Scaled %s to %s=%d (%s)\n", name, typ, n, p.version)
	return nil
}

// checkCaps refuses a release of spec (with typ scaled to n, when typ is
// set) whose Procfile has more than slipway.MaxProcessTypes types or that
// would run more than slipway.MaxInstances instances in all.
func checkCaps(a *app, spec Spec, typ string, n int) error {
	if len(spec.Procfile) > slipway.MaxProcessTypes {
		return slipway.Errorf(slipway.EINVALID, "the Procfile has %d process types: at most %d", len(spec.Procfile), slipway.MaxProcessTypes)
	}
	count := func(t string, def int) int {
		if t == typ {
			return n
		}
		return a.scale(t, def)
	}
	total := 0
	if _, ok := spec.Procfile.Command("web"); ok && spec.StaticDir == "" {
		total += count("web", spec.AppJSON.Quantity("web", 1))
	}
	for _, p := range workerTypes(spec) {
		total += count(p.Type, spec.AppJSON.Quantity(p.Type, 1))
	}
	if total > slipway.MaxInstances {
		return slipway.Errorf(slipway.EINVALID, "%s would run %d instances: at most %d per app, summed over its process types", spec.App, total, slipway.MaxInstances)
	}
	return nil
}
