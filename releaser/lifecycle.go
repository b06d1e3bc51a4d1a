package releaser

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/slipway/slipway"
)

// Restore starts the live release of every app that had one when slipway
// last stopped, so apps come back with the server. An app whose release
// fails to start is logged and left without a live pool.
func (r *Releaser) Restore(ctx context.Context) {
	r.reconcile(ctx)
	dirs, _ := filepath.Glob(filepath.Join(r.cfg.DataDir, "apps", "*", "state.json"))
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		if slipway.ValidateAppName(name) != nil {
			continue
		}
		a, err := r.app(name)
		if err != nil {
			r.logger.Error("restore app", "app", name, "err", err)
			continue
		}
		a.mu.Lock()
		spec := a.state.Live
		a.mu.Unlock()
		if spec == nil {
			continue
		}
		if _, err := os.Stat(spec.Dir); err != nil {
			r.logger.Error("restore app: release directory is gone", "app", name, "release", spec.Version.String())
			continue
		}
		unlock, err := r.Lock(ctx, name, io.Discard)
		if err != nil {
			return
		}
		err = r.Release(ctx, *spec, io.Discard)
		unlock()
		if err != nil {
			r.logger.Error("restore app", "app", name, "release", spec.Version.String(), "err", err)
		}
	}
}

// Shutdown stops the drain loop and every process of every app, in
// parallel, and waits for old pools being retired. Apps keep their live
// release on disk and come back with Restore.
func (r *Releaser) Shutdown(ctx context.Context) error {
	r.stopLoop()
	<-r.loopDone
	r.cron.stop()
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

// AppStatus is what the admin page shows of one app.
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
}

// Apps lists every app slipway knows, sorted by name, with its live release.
func (r *Releaser) Apps() []AppStatus {
	dirs, _ := filepath.Glob(filepath.Join(r.cfg.DataDir, "apps", "*", "state.json"))
	var out []AppStatus
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		a, err := r.app(name)
		if err != nil {
			continue
		}
		a.mu.Lock()
		st := AppStatus{Name: name}
		if a.live != nil {
			st.Live = a.live.version
			st.Commit = a.live.spec.Commit
			st.Instances = len(a.live.members())
			st.Static = a.live.spec.StaticDir != ""
			st.LiveSince = a.live.started
		}
		for _, p := range a.draining {
			st.Draining = append(st.Draining, p.version)
			st.DrainingInstances += len(p.members())
		}
		a.mu.Unlock()
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// reconcile makes the history tell the truth after a restart: pools that
// were draining stopped with slipway, and deploys in progress were cut off.
// The live release is started again by Restore.
func (r *Releaser) reconcile(ctx context.Context) {
	apps, err := r.cfg.Store.ListApps(ctx)
	if err != nil {
		r.logger.Error("read history", "err", err)
		return
	}
	now := time.Now()
	for _, name := range apps {
		rels, err := r.cfg.Store.ListReleases(ctx, name)
		if err != nil {
			r.logger.Error("read history", "app", name, "err", err)
			continue
		}
		for _, rel := range rels {
			switch rel.Status {
			case slipway.StatusDraining:
				rel.Status, rel.FinishedAt = slipway.StatusRetired, now
			case slipway.StatusBuilding:
				rel.Status, rel.FinishedAt, rel.Failure = slipway.StatusFailed, now, "interrupted: slipway stopped during the deploy"
			default:
				continue
			}
			if err := r.cfg.Store.UpdateRelease(ctx, rel); err != nil {
				r.logger.Error("record release", "app", name, "release", rel.Version.String(), "err", err)
			}
			r.cfg.Store.SetInstances(ctx, name, rel.Version, nil)
		}
	}
}
