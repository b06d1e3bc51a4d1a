package kube

import (
	"context"
	"encoding/json"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway"
)

// A draining release is retired once every router replica reports it
// idle: nothing in flight on it and no pinned request for SessionTTL (or
// once DrainTimeout has passed since it drains). A replica that still
// reports it live has not switched yet, and holds it. Replicas whose
// Lease has run out are gone and hold nothing. Retiring takes it out of
// the app's ConfigMap first, so that the routers drop its pool, then
// deletes its objects; its pods' preStop sleep covers the requests still
// on their way.

func (s *Scheduler) drainLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.DrainEvery)
	defer t.Stop()
	var swept time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.drainPass(ctx)
		if time.Since(swept) > leaseSweepEvery {
			s.sweepLeases(ctx)
			swept = time.Now()
		}
	}
}

// leaseSweepEvery is how often the Leases of replicas gone for good are
// removed: a replica killed, or serve's own router of a process that
// ended (each process reports under its pid).
const leaseSweepEvery = time.Minute

// sweepLeases deletes slipway's Leases that have not been renewed for a
// minute past their duration: their replicas are gone, and one that
// comes back makes its Lease again.
func (s *Scheduler) sweepLeases(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	leases := s.client.CoordinationV1().Leases(s.ns)
	list, err := leases.List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
	if err != nil {
		return
	}
	for i := range list.Items {
		l := &list.Items[i]
		if current(l, time.Now().Add(-leaseSweepEvery)) || l.Spec.RenewTime == nil {
			continue
		}
		uid := l.UID
		if err := leases.Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err == nil {
			s.logger.Info("removed the Lease of a router replica gone", "lease", l.Name)
		}
	}
}

// drainPass retires what is idle everywhere.
func (s *Scheduler) drainPass(ctx context.Context) {
	s.mu.Lock()
	if s.detached {
		s.mu.Unlock()
		return
	}
	var apps, stale []*app
	for _, a := range s.apps {
		if len(a.draining) > 0 {
			apps = append(apps, a)
		}
		if a.stale {
			stale = append(stale, a)
		}
	}
	s.mu.Unlock()
	for _, a := range stale {
		if err := s.publish(ctx, a); err == nil {
			s.logger.Info("the routers are told at last", "app", a.name)
		}
	}
	if len(apps) == 0 {
		return
	}
	reports, err := s.routerReports(ctx)
	if err != nil {
		s.logger.Warn("read the routers' reports", "err", err)
		return
	}
	now := time.Now()
	for _, a := range apps {
		for _, v := range s.idle(a, reports, now) {
			s.retire(ctx, a, v)
		}
		s.sleepOrWake(ctx, a, reports, now)
	}
}

// routerReports returns the reports of the replicas whose Lease is
// current.
func (s *Scheduler) routerReports(ctx context.Context) ([]RouterReport, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := s.client.CoordinationV1().Leases(s.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
	if err != nil {
		return nil, err
	}
	var out []RouterReport
	for i := range list.Items {
		l := &list.Items[i]
		if !current(l, time.Now()) {
			continue
		}
		var r RouterReport
		if err := json.Unmarshal([]byte(l.Annotations[AnnotationPools]), &r); err != nil {
			s.logger.Warn("a router's report is not JSON", "lease", l.Name)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// current reports whether a replica's Lease was renewed within its
// duration: the replica is there.
func current(l *coordv1.Lease, now time.Time) bool {
	if l.Spec.RenewTime == nil {
		return false
	}
	d := LeaseDuration
	if l.Spec.LeaseDurationSeconds != nil {
		d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return now.Sub(l.Spec.RenewTime.Time) < d
}

// idle returns a's draining releases that every replica is done with,
// and those beyond MaxDraining (the oldest).
func (s *Scheduler) idle(a *app, reports []RouterReport, now time.Time) []slipway.Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []slipway.Version
	for i, d := range a.draining {
		if i >= s.rc.MaxDraining || now.Sub(d.since) >= s.rc.DrainTimeout {
			out = append(out, d.v)
			continue
		}
		busy := false
		for _, r := range reports {
			ar, ok := r.Apps[a.name]
			if !ok {
				continue
			}
			if ar.Live == d.v.String() {
				busy = true // not switched yet there
				break
			}
			p, ok := ar.Draining[d.v.String()]
			if ok && (p.InFlight > 0 || (!p.LastSeen.IsZero() && now.Sub(p.LastSeen) < s.rc.SessionTTL)) {
				busy = true
				break
			}
		}
		if !busy {
			out = append(out, d.v)
		}
	}
	return out
}

// retire takes release v of a out of the routers, then out of the
// cluster, and records it retired.
func (s *Scheduler) retire(ctx context.Context, a *app, v slipway.Version) {
	s.mu.Lock()
	kept := a.draining[:0:0]
	found := false
	for _, d := range a.draining {
		if d.v == v {
			found = true
			continue
		}
		kept = append(kept, d)
	}
	a.draining = kept
	s.mu.Unlock()
	if !found {
		return
	}
	if err := s.publish(ctx, a); err != nil {
		s.logger.Error("retire: tell the routers", "app", a.name, "release", v.String(), "err", err)
		s.mu.Lock()
		a.draining = append(a.draining, drainingRelease{v: v, since: time.Now()})
		s.mu.Unlock()
		return
	}
	s.removeRelease(ctx, a.name, v)
	s.rc.Recorder.Retired(a.name, v)
	s.rc.Recorder.Instances(a.name, v, nil)
	s.logger.Info("release retired", "app", a.name, "release", v.String())
}

// RetireNow retires draining release v of app at once (ps:retire).
func (s *Scheduler) RetireNow(app string, v slipway.Version) error {
	a := s.app(app)
	s.mu.Lock()
	found := false
	for _, d := range a.draining {
		found = found || d.v == v
	}
	s.mu.Unlock()
	if !found {
		return slipway.Errorf(slipway.ENOTFOUND, "%s has no draining release %s", app, v)
	}
	s.retire(context.Background(), a, v)
	return nil
}
