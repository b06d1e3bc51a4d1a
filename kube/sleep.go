package kube

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway/slipway"
)

// A draining release that no replica has sent a request to for
// DrainSleepAfter sleeps, as on one host: it is marked asleep in the
// app's ConfigMap first (every replica then holds a sleeping pool, whose
// pinned requests wait instead of reaching pods that are going), then its
// Deployment is scaled to 0, its replicas kept in an annotation. A pinned
// request at any replica asks for a wake in the replica's report; the
// drain loop sees it, scales the Deployment back, waits for its pods to
// be Ready and takes the release out of KeyAsleep: the replicas swap the
// awake pool in, and the waiting requests go on. A release that does not
// wake within the deploy timeout is retired (its sessions go to the live
// release, with a new cookie).

// annotationReplicas keeps a sleeping Deployment's replicas.
const annotationReplicas = "slipway.dev/awake-replicas"

// sleepOrWake puts a's quiet draining releases to sleep and wakes those a
// replica waits for.
func (s *Scheduler) sleepOrWake(ctx context.Context, a *app, reports []RouterReport, now time.Time) {
	after := s.rc.DrainSleepAfter
	s.mu.Lock()
	var sleep, wake []slipway.Version
	for i := range a.draining {
		d := &a.draining[i]
		switch {
		case d.asleep && !d.waking && wanted(a.name, d.v, reports):
			d.waking = true
			wake = append(wake, d.v)
		case !d.asleep && after > 0 && now.Sub(d.since) >= after && quiet(a.name, d.v, reports, now, after):
			d.asleep = true
			sleep = append(sleep, d.v)
		}
	}
	s.mu.Unlock()
	for _, v := range sleep {
		s.sleep(ctx, a, v)
	}
	for _, v := range wake {
		s.loops.Go(func() { s.wake(ctx, a, v) })
	}
}

// wanted reports whether a replica waits for release v of app to wake.
func wanted(app string, v slipway.Version, reports []RouterReport) bool {
	for _, r := range reports {
		if slices.Contains(r.Apps[app].Wake, v.String()) {
			return true
		}
	}
	return false
}

// quiet reports whether no replica has sent a request to release v of
// app for after, nor has one in flight, nor still has it live.
func quiet(app string, v slipway.Version, reports []RouterReport, now time.Time, after time.Duration) bool {
	for _, r := range reports {
		ar, ok := r.Apps[app]
		if !ok {
			continue
		}
		if ar.Live == v.String() {
			return false
		}
		p := ar.Draining[v.String()]
		if p.InFlight > 0 || (!p.LastSeen.IsZero() && now.Sub(p.LastSeen) < after) {
			return false
		}
	}
	return true
}

// sleep tells the routers release v of a sleeps, then scales it to 0.
func (s *Scheduler) sleep(ctx context.Context, a *app, v slipway.Version) {
	if err := s.publish(ctx, a); err != nil {
		s.logger.Error("sleep: tell the routers", "app", a.name, "release", v.String(), "err", err)
		s.setAsleep(a, v, false)
		return
	}
	name := DeploymentName(a.name, v, "web")
	deps := s.client.AppsV1().Deployments(s.ns)
	d, err := deps.Get(ctx, name, metav1.GetOptions{})
	if err != nil || !managed(d) {
		s.logger.Error("sleep: read the Deployment", "name", name, "err", err)
		return
	}
	n := int32(1)
	if d.Spec.Replicas != nil && *d.Spec.Replicas > 0 {
		n = *d.Spec.Replicas
	}
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}},"spec":{"replicas":0}}`, annotationReplicas, strconv.Itoa(int(n)))
	if _, err := deps.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		s.logger.Error("sleep: scale to 0", "name", name, "err", err)
		return
	}
	s.rc.Recorder.Sleeping(a.name, v, time.Now())
	if s.rc.OnSleep != nil {
		s.rc.OnSleep(a.name)
	}
	s.logger.Info("draining release asleep", "app", a.name, "release", v.String(), "pods", n)
}

// wake scales release v of a back, and tells the routers once its pods
// are Ready; one that does not wake is retired.
func (s *Scheduler) wake(ctx context.Context, a *app, v slipway.Version) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.rc.DeployTimeout)
	defer cancel()
	err := s.scaleBack(ctx, DeploymentName(a.name, v, "web"))
	if err == nil {
		err = s.waitReady(ctx, DeploymentName(a.name, v, "web"))
	}
	if err != nil {
		s.logger.Error("wake a draining release: it is retired", "app", a.name, "release", v.String(), "err", err)
		s.setAsleep(a, v, false)
		s.retire(context.WithoutCancel(ctx), a, v)
		return
	}
	s.setAsleep(a, v, false)
	if err := s.publish(context.WithoutCancel(ctx), a); err != nil {
		s.logger.Error("wake: tell the routers", "app", a.name, "release", v.String(), "err", err)
	}
	s.rc.Recorder.Sleeping(a.name, v, time.Time{})
	took := time.Since(start)
	if s.rc.OnWake != nil {
		s.rc.OnWake(a.name, took)
	}
	s.logger.Info("draining release awake", "app", a.name, "release", v.String(), "took", took.Round(time.Millisecond).String())
}

// scaleBack gives a sleeping Deployment its replicas again.
func (s *Scheduler) scaleBack(ctx context.Context, name string) error {
	d, err := s.client.AppsV1().Deployments(s.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return kubeErr("read Deployment "+name, err)
	}
	n, _ := strconv.Atoi(d.Annotations[annotationReplicas])
	n = max(n, 1)
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
	_, err = s.client.AppsV1().Deployments(s.ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("the Deployment %s is gone", name)
	}
	return kubeErr("scale "+name, err)
}

// setAsleep marks draining release v of a asleep or awake (and not
// waking).
func (s *Scheduler) setAsleep(a *app, v slipway.Version, asleep bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range a.draining {
		if a.draining[i].v == v {
			a.draining[i].asleep, a.draining[i].waking = asleep, false
		}
	}
}
