package kube

import (
	"context"
	"time"

	"sort"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// appPods returns app's pods from the watch's cache.
func (s *Scheduler) appPods(app string) []*corev1.Pod {
	return s.pods.List(labels.SelectorFromSet(labels.Set{LabelApp: app}))
}

// podReady reports whether p takes requests.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Apps returns what runs of each app the scheduler knows.
func (s *Scheduler) Apps() []releaser.AppStatus {
	s.mu.Lock()
	type known struct {
		name, commit string
		live         slipway.Version
		since        time.Time
		draining     []slipway.Version
	}
	var list []known
	for _, a := range s.apps {
		if a.live == 0 && len(a.draining) == 0 {
			continue // stopped, destroyed or never released
		}
		k := known{name: a.name, commit: a.spec.Commit, live: a.live, since: a.since}
		for _, d := range a.draining {
			k.draining = append(k.draining, d.v)
		}
		list = append(list, k)
	}
	s.mu.Unlock()
	var out []releaser.AppStatus
	for _, k := range list {
		st := releaser.AppStatus{Name: k.name, Live: k.live, Commit: k.commit, LiveSince: k.since, Draining: k.draining}
		for _, p := range s.appPods(k.name) {
			v, _ := ParseVersion(p.Labels[LabelRelease])
			switch {
			case v == k.live && p.Labels[LabelProcess] == "web" && podReady(p):
				st.Instances++
			case v == k.live && p.Labels[LabelProcess] != ProcessRun && p.Labels[LabelProcess] != ProcessRelease && !podReady(p):
				st.Crashed++
				st.CrashLoop = st.CrashLoop || crashLooping(p)
			case v != k.live && p.Labels[LabelProcess] == "web":
				st.DrainingInstances++
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func crashLooping(p *corev1.Pod) bool {
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			return true
		}
	}
	return false
}

// Processes lists app's pods as its processes: the live release's first.
func (s *Scheduler) Processes(name string) []releaser.ProcessStatus {
	a := s.app(name)
	s.mu.Lock()
	live := a.live
	s.mu.Unlock()
	var out []releaser.ProcessStatus
	for _, p := range s.appPods(name) {
		v, _ := ParseVersion(p.Labels[LabelRelease])
		st := releaser.ProcessStatus{ID: p.Name, Release: v, Live: v == live, State: podStateWord(p)}
		if p.Status.StartTime != nil {
			st.Since = p.Status.StartTime.Time
		}
		for _, c := range p.Status.ContainerStatuses {
			st.Restarts += int(c.RestartCount)
			if t := c.LastTerminationState.Terminated; t != nil {
				st.LastExit = t.Reason
			}
		}
		if p.Labels[LabelProcess] == "web" {
			st.Port = WebPort
		}
		out = append(out, st)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Live != out[j].Live {
			return out[i].Live
		}
		if out[i].Release != out[j].Release {
			return out[i].Release > out[j].Release
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// podStateWord is a pod's state in the words ps uses.
func podStateWord(p *corev1.Pod) string {
	switch {
	case p.DeletionTimestamp != nil:
		return "stopping"
	case podReady(p):
		return "up"
	case p.Status.Phase == corev1.PodPending:
		return "starting"
	case p.Status.Phase == corev1.PodSucceeded:
		return "exited"
	case p.Status.Phase == corev1.PodFailed:
		return "crashed"
	case crashLooping(p):
		return "crashed"
	}
	return "starting"
}

// Draining returns app's draining releases, newest first, with what the
// router replicas report of them: the last pinned request any of them
// saw, and the sessions they saw.
func (s *Scheduler) Draining(name string) []releaser.DrainStatus {
	a := s.app(name)
	s.mu.Lock()
	list := append([]drainingRelease(nil), a.draining...)
	s.mu.Unlock()
	if len(list) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reports, _ := s.routerReports(ctx)
	var out []releaser.DrainStatus
	for _, d := range list {
		st := releaser.DrainStatus{Release: d.v, Since: d.since, RetireBy: d.since.Add(s.rc.DrainTimeout)}
		for _, r := range reports {
			p := r.Apps[name].Draining[d.v.String()]
			if p.LastSeen.After(st.LastSeen) {
				st.LastSeen = p.LastSeen
			}
			st.Sessions += p.Sessions
		}
		if !st.LastSeen.IsZero() {
			st.IdleRetire = st.LastSeen.Add(s.rc.SessionTTL)
		}
		out = append(out, st)
	}
	return out
}

// CronList returns the live release's cron entries; the cluster runs
// them (CronJobs), and says when next.
func (s *Scheduler) CronList(name string) []releaser.CronEntry {
	a := s.app(name)
	s.mu.Lock()
	spec := a.spec
	s.mu.Unlock()
	var out []releaser.CronEntry
	if spec.AppJSON == nil {
		return nil
	}
	now := time.Now().UTC()
	for i, c := range spec.AppJSON.Cron {
		e := releaser.CronEntry{ID: cronJobName(name, spec.Version, i), Schedule: c.Schedule, Command: c.Command}
		if sched, err := cron.ParseStandard(c.Schedule); err == nil {
			e.Next = sched.Next(now)
		}
		out = append(out, e)
	}
	return out
}
