package releaser

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// Shutdown stops the drain loop, the cron jobs and every process of every
// app, in parallel, and waits for old pools being retired, until ctx is
// done. The history keeps each app's live release, which the application
// layer starts again at the next start.
func (r *Releaser) Shutdown(ctx context.Context) error {
	if r.stopLoop != nil {
		r.stopLoop()
		<-r.loopDone
		r.cron.stop()
	}
	r.mu.Lock()
	var pools []*pool
	var workers []*worker
	for _, a := range r.apps {
		a.mu.Lock()
		if a.live != nil {
			pools = append(pools, a.live)
			a.live = nil
		}
		pools = append(pools, a.draining...)
		a.draining = nil
		workers = append(workers, a.workers.list()...)
		a.workers = nil
		a.mu.Unlock()
	}
	apps := make([]*app, 0, len(r.apps))
	for _, a := range r.apps {
		apps = append(apps, a)
	}
	r.mu.Unlock()
	defer func() {
		for _, a := range apps {
			a.log.Close()
		}
	}()
	var wg sync.WaitGroup
	for _, p := range pools {
		wg.Go(func() { r.stopPool(p) })
	}
	wg.Go(func() { r.stopAll(workers) })
	wg.Go(func() { r.stopOneOffs(); r.oneOffWG.Wait() })
	wg.Go(r.retiring.Wait)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AppStatus is the running state of one app: its live and draining pools.
type AppStatus struct {
	Name      string            `json:"name"`
	Live      slipway.Version   `json:"live_version,omitempty"`
	Commit    string            `json:"commit,omitempty"`
	Instances int               `json:"instances"`
	Static    bool              `json:"static,omitempty"`
	LiveSince time.Time         `json:"live_since,omitzero"`
	Draining  []slipway.Version `json:"draining,omitempty"`
	// DrainingInstances counts the web instances of the draining pools.
	DrainingInstances int `json:"draining_instances"`
	// Crashed counts the live release's processes (web and workers) that
	// are not up; CrashLoop is set when one keeps crashing.
	Crashed   int  `json:"crashed"`
	CrashLoop bool `json:"crash_loop,omitempty"`
	// SleepingSince is since when the live pool sleeps (ps:autosleep);
	// zero while it runs.
	SleepingSince time.Time `json:"sleeping_since,omitzero"`
	// Autosleep is how long the app may go without a request before it
	// sleeps (0: never), and AutosleepWorkers whether its workers sleep
	// with it.
	Autosleep        time.Duration `json:"autosleep,omitempty"`
	AutosleepWorkers bool          `json:"autosleep_workers,omitempty"`
}

// Apps lists the running state of every app that has run here since the
// start, sorted by name.
func (r *Releaser) Apps() []AppStatus {
	r.mu.Lock()
	apps := make([]*app, 0, len(r.apps))
	for _, a := range r.apps {
		apps = append(apps, a)
	}
	r.mu.Unlock()
	var out []AppStatus
	for _, a := range apps {
		name := a.name
		a.mu.Lock()
		st := AppStatus{Name: name}
		if a.live != nil {
			st.Live = a.live.version
			st.Commit = a.live.spec.Commit
			st.Instances = len(a.live.members())
			st.Static = a.live.spec.StaticDir != ""
			st.LiveSince = a.live.started
			st.SleepingSince = a.live.sleepingSince()
		}
		st.Autosleep, st.AutosleepWorkers = a.autosleep, a.sleepWorkers
		for _, p := range a.draining {
			st.Draining = append(st.Draining, p.version)
			st.DrainingInstances += len(p.members())
		}
		var sups []*supervisor.Supervised
		if a.live != nil {
			for _, in := range a.live.members() {
				sups = append(sups, in.sup)
			}
		}
		for _, w := range a.workers.list() {
			sups = append(sups, w.sup)
		}
		a.mu.Unlock()
		for _, sup := range sups {
			in := sup.Info()
			if in.State != supervisor.StateUp {
				st.Crashed++
			}
			st.CrashLoop = st.CrashLoop || in.CrashLoop
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
