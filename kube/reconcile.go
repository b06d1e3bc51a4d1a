package kube

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// After a restart (or a kill -9), nothing of the cluster is remembered:
// the application layer's restore tells the scheduler what the history
// says runs (Adopt for the live release, AdoptDraining for the draining
// ones), the scheduler makes the cluster match (what is missing is
// created, the ConfigMap is written again), and Reconcile then removes
// slipway's objects that no release of the history claims: those of a
// deploy that was cut off, of a release retired while slipway was down,
// of an app destroyed.

// Adopt makes spec, the live release in the history, run and be live in
// the cluster: the pods a slipway of before started are kept.
func (s *Scheduler) Adopt(ctx context.Context, spec releaser.Spec, _ []slipway.InstanceRecord) (int, error) {
	a := s.app(spec.App)
	s.claim(a, spec.Version, true)
	defer s.claim(a, spec.Version, false)
	s.mu.Lock()
	a.live, a.spec, a.since, a.scale = spec.Version, spec, time.Now(), spec.Scale
	s.mu.Unlock()
	before := 0
	for _, p := range s.appPods(spec.App) {
		if p.Labels[LabelRelease] == spec.Version.String() && p.Labels[LabelProcess] == "web" && podReady(p) {
			before++
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.rc.DeployTimeout)
	defer cancel()
	if err := s.startWeb(ctx, spec, discard{}); err != nil {
		return 0, err
	}
	if err := s.publish(ctx, a); err != nil {
		return 0, err
	}
	s.swapWorkers(ctx, spec, 0, discard{})
	return before, nil
}

// AdoptDraining takes back a release the history has draining, if its
// Deployment is still in the cluster; an error says it is gone, and the
// application layer records it retired.
func (s *Scheduler) AdoptDraining(ctx context.Context, spec releaser.Spec, _ []slipway.InstanceRecord, asleep time.Time) error {
	name := DeploymentName(spec.App, spec.Version, "web")
	d, err := s.client.AppsV1().Deployments(s.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || !managed(d) || d.DeletionTimestamp != nil {
		return fmt.Errorf("%s is no longer in the cluster", name)
	}
	a := s.app(spec.App)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Restore goes oldest first: the newest ends first in the list.
	a.draining = append([]drainingRelease{{v: spec.Version, since: time.Now(), asleep: !asleep.IsZero()}}, a.draining...)
	s.podLogs.poke() // its pods' output is followed from now on
	return nil
}

// AdoptAsleep: a cluster's releases do not sleep.
func (s *Scheduler) AdoptAsleep(releaser.Spec, []slipway.InstanceRecord, time.Time) bool {
	return false
}

// Reconcile removes slipway's objects that no release of the history
// claims (keep: by app, the releases it has live or draining) and no
// deploy in progress either. The application layer calls it once its
// restore is done. What the history has live stays even if its restore
// failed: a release is only ever removed because the history says it
// is not running.
func (s *Scheduler) Reconcile(ctx context.Context, keep map[string][]slipway.Version) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	claimed := func(app, release string) bool {
		v, err := ParseVersion(release)
		if err != nil {
			return true // not one of slipway's names: left alone
		}
		if slices.Contains(keep[app], v) {
			return true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		a, ok := s.apps[app]
		return ok && a.busy[v]
	}
	list := metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + LabelRelease}
	seen := map[[2]string]bool{}
	note := func(m metav1.Object) {
		l := m.GetLabels()
		seen[[2]string{l[LabelApp], l[LabelRelease]}] = true
	}
	if deps, err := s.client.AppsV1().Deployments(s.ns).List(ctx, list); err == nil {
		for i := range deps.Items {
			note(&deps.Items[i])
		}
	}
	if jobs, err := s.client.BatchV1().Jobs(s.ns).List(ctx, list); err == nil {
		for i := range jobs.Items {
			if jobs.Items[i].Labels[LabelProcess] != ProcessRun { // one-off runs end by themselves
				note(&jobs.Items[i])
			}
		}
	}
	if cjs, err := s.client.BatchV1().CronJobs(s.ns).List(ctx, list); err == nil {
		for i := range cjs.Items {
			note(&cjs.Items[i])
		}
	}
	if secs, err := s.client.CoreV1().Secrets(s.ns).List(ctx, list); err == nil {
		for i := range secs.Items {
			note(&secs.Items[i])
		}
	}
	for k := range seen {
		if k[0] == "" || claimed(k[0], k[1]) {
			continue
		}
		v, err := ParseVersion(k[1])
		if err != nil {
			continue
		}
		s.logger.Info("reconcile: remove a release nothing claims", "app", k[0], "release", k[1])
		s.removeRelease(ctx, k[0], v)
	}
	// One-off runs whose caller went with the slipway before.
	if pods, err := s.client.CoreV1().Pods(s.ns).List(ctx, metav1.ListOptions{LabelSelector: appSelectorAll() + "," + LabelProcess + "=" + ProcessRun}); err == nil {
		for _, p := range pods.Items {
			s.logger.Info("reconcile: remove a one-off run's pod", "pod", p.Name)
			s.client.CoreV1().Pods(s.ns).Delete(ctx, p.Name, metav1.DeleteOptions{})
		}
	}
	// The ConfigMaps of apps the history does not have.
	if cms, err := s.client.CoreV1().ConfigMaps(s.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + LabelApp}); err == nil {
		for _, cm := range cms.Items {
			if _, known := keep[cm.Labels[LabelApp]]; !known {
				err := s.client.CoreV1().ConfigMaps(s.ns).Delete(ctx, cm.Name, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					s.logger.Error("reconcile: remove ConfigMap", "name", cm.Name, "err", err)
				}
			}
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
