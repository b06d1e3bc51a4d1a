package releaser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// A slipway that restarts (an upgrade, a crash, a stop of slipway alone)
// leaves its apps running: every instance leads a session of its own and
// writes its own log file. The next slipway takes them back from what the
// history recorded (Adopt, AdoptDraining) instead of starting them again,
// so no request is lost, no session moves and no instance runs twice.

// Detach ends supervision of every process without stopping any: they
// keep running and serving, unwatched, and their state (pid, start time,
// cgroup, TMPDIR, log offset) is recorded for the slipway that adopts
// them. Draining pools are not retired and cron jobs do not fire until
// Resume. Callers hold every app's lock, so nothing changes meanwhile.
func (r *Releaser) Detach() {
	r.drainMu.Lock() // after a pass in progress: no later one retires anything
	r.detached.Store(true)
	r.drainMu.Unlock()
	r.retiring.Wait() // pools being retired are gone, not left half stopped
	r.eachSupervised(func(s *supervisor.Supervised) { s.Detach() })
	for _, a := range r.appList() {
		a.mu.Lock()
		pools := append([]*pool{a.live}, a.draining...)
		a.mu.Unlock()
		for _, p := range pools {
			if p != nil {
				r.recordInstances(a.name, p)
			}
		}
	}
	r.logger.Info("apps detached: they keep running for the next slipway to adopt")
}

// Resume supervises every process again after Detach: the slipway that
// was to adopt them did not start.
func (r *Releaser) Resume() {
	r.eachSupervised(func(s *supervisor.Supervised) { s.Resume() })
	r.detached.Store(false)
	r.logger.Info("apps supervised again")
}

// eachSupervised runs f on every supervised process, in parallel.
func (r *Releaser) eachSupervised(f func(*supervisor.Supervised)) {
	var wg sync.WaitGroup
	for _, a := range r.appList() {
		a.mu.Lock()
		var sups []*supervisor.Supervised
		for _, p := range append([]*pool{a.live}, a.draining...) {
			if p == nil {
				continue
			}
			for _, in := range p.members() {
				sups = append(sups, in.sup)
			}
		}
		for _, w := range a.workers.list() {
			sups = append(sups, w.sup)
		}
		a.mu.Unlock()
		for _, s := range sups {
			wg.Go(func() { f(s) })
		}
	}
	wg.Wait()
}

// appList returns every app the releaser has seen.
func (r *Releaser) appList() []*app {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*app, 0, len(r.apps))
	for _, a := range r.apps {
		out = append(out, a)
	}
	return out
}

// adopt takes back process id of spec's release as recorded in recs, or
// returns nil when it no longer runs.
func (r *Releaser) adopt(ps supervisor.Spec, recs []slipway.InstanceRecord, id string) (*supervisor.Process, int) {
	for _, rec := range recs {
		if rec.ID != id {
			continue
		}
		p, err := supervisor.Adopt(ps, supervisor.Running{
			PID: rec.PID, StartTicks: rec.StartTicks, Cgroup: rec.Cgroup, TmpDir: rec.TmpDir, LogOffset: rec.LogOffset,
		})
		if err != nil {
			return nil, 0
		}
		return p, rec.Port
	}
	return nil, 0
}

// adoptWeb takes back the web instances of p recorded in recs that still
// run and listen on their port, in parallel; one that runs but does not
// listen is stopped. It returns them by instance number.
func (r *Releaser) adoptWeb(ctx context.Context, p *pool, recs []slipway.InstanceRecord) map[int]*instance {
	out := map[int]*instance{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, rec := range recs {
		n, ok := webNumber(rec.ID)
		if !ok || rec.Port == 0 {
			continue
		}
		wg.Go(func() {
			ps, err := r.processSpec(p.spec, rec.ID, p.command, rec.Port)
			if err != nil {
				return
			}
			proc, port := r.adopt(ps, []slipway.InstanceRecord{rec}, rec.ID)
			if proc == nil {
				return
			}
			// Checked healthy when it started: it must still be the one
			// that listens on its port. (Not dialled: a busy app's listen
			// queue may be full for a moment, and a connection then waits
			// a second for the SYN to be sent again.)
			if ok, _ := proc.OwnsListener(port); !ok {
				r.logger.Warn("an instance left running no longer listens on its port: stopping it", "app", p.spec.App, "instance", rec.ID, "port", port)
				proc.Stop(r.cfg.StopGrace)
				return
			}
			in := r.supervise(p, rec.ID, port, ps, proc)
			mu.Lock()
			out[n] = in
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// webNumber returns N of "web.N".
func webNumber(id string) (int, bool) {
	s, ok := strings.CutPrefix(id, "web.")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// Adopt makes spec's release the app's live one again after a restart:
// the instances recorded in recs that still run are taken back, the
// missing ones started, every one health checked, and the pool put behind
// the router without a new history record (it is live there already).
// Workers are adopted or started the same way, and the cron jobs
// scheduled. Call AdoptDraining for the app's draining pools first.
// Callers hold the app's lock.
func (r *Releaser) Adopt(ctx context.Context, spec Spec, recs []slipway.InstanceRecord) (adopted int, err error) {
	a := r.app(spec.App)
	a.mu.Lock()
	a.scaleSet = spec.Scale
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeployTimeout)
	defer cancel()
	p, err := r.newPool(spec)
	if err != nil {
		return 0, err
	}
	if p.command != "" && spec.StaticDir == "" {
		n := a.scale("web", spec.AppJSON.Quantity("web", 1))
		got := r.adoptWeb(ctx, p, recs)
		members := make([]*instance, 0, n)
		for i := 1; i <= n; i++ {
			if in, ok := got[i]; ok {
				members = append(members, in)
				adopted++
				continue
			}
			started, err := r.startInstances(ctx, p, i, i, io.Discard)
			if err != nil {
				for _, in := range members {
					in.stop()
				}
				stopInstances(got, 0)
				return 0, err
			}
			members = append(members, started[0])
		}
		stopInstances(got, n) // instances above the scale
		p.setMembers(members)
	}
	p.routePool().Seen(time.Now()) // its pins outlive the restart
	a.mu.Lock()
	if a.live != nil { // the newest draining pool AdoptDraining took back
		a.draining = append(a.draining, a.live)
	}
	a.live = p
	r.cfg.Router.SetLive(p.routePool())
	a.mu.Unlock()
	adopted += r.adoptWorkers(a, spec, recs)
	r.recordLive(a)
	r.schedule(a.name, spec, spec.Version, io.Discard)
	r.logger.Info("release live again", "app", a.name, "release", spec.Version.String(), "instances", len(p.members()), "adopted", adopted)
	return adopted, nil
}

// stopInstances stops the instances of got numbered above n.
func stopInstances(got map[int]*instance, n int) {
	var wg sync.WaitGroup
	for i, in := range got {
		if i > n {
			wg.Go(in.stop)
		}
	}
	wg.Wait()
}

// adoptWorkers takes back or starts the live release's workers, and
// returns how many it took back.
func (r *Releaser) adoptWorkers(a *app, spec Spec, recs []slipway.InstanceRecord) int {
	next := &workerSet{version: spec.Version}
	adopted := 0
	for _, proc := range workerTypes(spec) {
		n := a.scale(proc.Type, spec.AppJSON.Quantity(proc.Type, 1))
		for i := 1; i <= n; i++ {
			id := fmt.Sprintf("%s.%d", proc.Type, i)
			ps, err := r.processSpec(spec, id, proc.Command, 0)
			if err != nil {
				r.logger.Error("worker start", "app", a.name, "instance", id, "err", err)
				continue
			}
			if p, _ := r.adopt(ps, recs, id); p != nil {
				next.members = append(next.members, r.superviseWorker(a.name, spec.Version, proc.Type, ps, p))
				adopted++
				continue
			}
			w, err := r.startWorker(a.name, spec, spec.Version, proc, i)
			if err != nil {
				r.logger.Error("worker start", "app", a.name, "instance", id, "err", err)
				continue
			}
			next.members = append(next.members, w)
		}
	}
	a.mu.Lock()
	a.workers = next
	a.mu.Unlock()
	return adopted
}

// ErrNothingToAdopt is AdoptDraining's error when none of a draining
// pool's instances runs any more.
var ErrNothingToAdopt = errors.New("no instance of the pool runs")

// AdoptDraining takes back, after a restart, the web instances of a
// release that was draining: the ones in recs that still run and answer
// serve the sessions pinned to them again, with the idle clock started
// anew (which errs on the side of keeping them). Nothing is started:
// ErrNothingToAdopt when none is left, and the release is retired. Call
// it for every draining release, oldest first, before Adopt. Callers hold
// the app's lock.
func (r *Releaser) AdoptDraining(ctx context.Context, spec Spec, recs []slipway.InstanceRecord, asleep time.Time) error {
	a := r.app(spec.App)
	p, err := r.newPool(spec)
	if err != nil || p.command == "" || spec.StaticDir != "" {
		return ErrNothingToAdopt
	}
	if !asleep.IsZero() && len(recs) == 0 {
		r.adoptSleeping(a, p, asleep)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeployTimeout)
	defer cancel()
	got := r.adoptWeb(ctx, p, recs)
	if len(got) == 0 {
		return ErrNothingToAdopt
	}
	var members []*instance
	for _, n := range slices.Sorted(maps.Keys(got)) {
		members = append(members, got[n])
	}
	p.setMembers(members).Seen(time.Now()) // its pins outlive the restart
	a.mu.Lock()
	if a.live != nil {
		a.draining = append(a.draining, a.live)
	}
	a.live = p // until the next AdoptDraining or Adopt makes it drain
	r.cfg.Router.SetLive(p.routePool())
	a.mu.Unlock()
	r.recordInstances(a.name, p)
	r.logger.Info("draining release taken back", "app", a.name, "release", spec.Version.String(), "instances", len(members))
	return nil
}

// Abandon stops the drain loop and the cron scheduler without stopping
// any process: after Detach, once another slipway process has adopted
// them. A cron job still running finishes on its own.
func (r *Releaser) Abandon() {
	if r.stopLoop != nil {
		r.stopLoop()
		<-r.loopDone
		r.cron.c.Stop()
	}
	for _, a := range r.appList() {
		a.log.Close()
	}
}
