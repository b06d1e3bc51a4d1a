package kube

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway/slipway/supervisor"
)

// podLogs copies the output of the apps' pods into their app logs, as
// the supervisor copies a local process's on one host: one line per
// line, with its time, its process (web.x7k2p) and its release, so that
// logs, logs -p TYPE and the drains see it. It follows each pod of an
// app the scheduler runs once its container has started, through the
// API (pods/NAME/log?follow=true&timestamps=true), learning of the pods
// from the scheduler's pods watch: one goroutine per pod followed, at
// most perApp pods of an app and total in all.
//
// A line is written once: each follower keeps the kubelet's time of the
// last line it wrote, and a stream opened again (a cut, a restarted
// container, Resume) drops every line up to it. A slipway that starts
// takes it from the app log itself (appLogTail): an upgrade or a kill -9
// neither writes a line twice nor loses those printed while no slipway
// followed.
type podLogs struct {
	logs   Pods
	pod    func(name string) *corev1.Pod // from the watch's cache
	pods   func() []*corev1.Pod
	runs   func(app string) bool // the scheduler runs the app (Scheduler.runs)
	appLog func(app string) *supervisor.AppLog
	path   func(app string) string // where the app's log is
	logger *slog.Logger

	perApp, total int
	started       time.Time // this slipway's start: the floor when no log says more

	kick chan struct{} // a resync is due
	wg   sync.WaitGroup

	mu      sync.Mutex
	ctx     context.Context // run's; nil before it
	paused  bool            // Detach: the next slipway follows
	entries map[types.UID]*podEntry
	perAppN map[string]int
	running int

	tailMu sync.Mutex
	tails  map[string]*appLogTail // by app, read at the first follow
}

// Bounds of the pods followed: each is a goroutine, a stream through the
// API server to the pod's kubelet and 64 KiB of buffer while it reads.
// An app's live release, one draining and its cron and release Jobs fit
// in 64 (a process type scales to 32).
const (
	podLogsPerApp = 64
	podLogsTotal  = 256
)

// podEntry is what podLogs keeps of one pod, from its first sight in the
// watch until it is gone and no longer followed.
type podEntry struct {
	app, name string
	f         *follower // nil when none runs
	done      bool      // its container ended for good, read to its end
	noted     bool      // the app log says it is not followed (bounds)
	mark      time.Time // the kubelet's time of the last line written
	gone      *time.Timer
}

func newPodLogs(logs Pods, logger *slog.Logger) *podLogs {
	return &podLogs{logs: logs, logger: logger, perApp: podLogsPerApp, total: podLogsTotal, started: time.Now(),
		kick: make(chan struct{}, 1), entries: map[types.UID]*podEntry{}, perAppN: map[string]int{}, tails: map[string]*appLogTail{}}
}

// poke asks for a resync; it never blocks.
func (l *podLogs) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// changed is the pods watch's: p was added, changed or deleted. Its
// follower looks again, and a resync starts or ends followers.
func (l *podLogs) changed(p *corev1.Pod) {
	l.mu.Lock()
	if e := l.entries[p.UID]; e != nil && e.f != nil {
		e.f.wake()
	}
	l.mu.Unlock()
	l.poke()
}

// run follows the pods until ctx ends, then waits for every follower.
func (l *podLogs) run(ctx context.Context) {
	l.mu.Lock()
	l.ctx = ctx
	l.mu.Unlock()
	l.resync()
	for {
		select {
		case <-ctx.Done():
			l.wg.Wait()
			return
		case <-l.kick:
			l.resync()
		}
	}
}

// note is a line for an app log, written once every pod is looked at.
type note struct{ app, id, release, text string }

// resync starts a follower for each pod that has output and none, within
// the bounds, and gives those of pods gone from the watch podGoneGrace
// to read their last lines.
func (l *podLogs) resync() {
	pods := l.pods()
	var notes []note
	l.mu.Lock()
	if l.ctx == nil || l.ctx.Err() != nil || l.paused {
		l.mu.Unlock()
		return
	}
	seen := make(map[types.UID]bool, len(pods))
	for _, p := range pods {
		seen[p.UID] = true
		e := l.entries[p.UID]
		if e == nil {
			e = &podEntry{app: p.Labels[LabelApp], name: p.Name}
			l.entries[p.UID] = e
		}
		if e.f != nil || e.done {
			continue
		}
		in, ok := podInstance(p)
		if !ok || !started(p, in.container) || !l.runs(in.app) {
			continue
		}
		if l.perAppN[in.app] >= l.perApp || l.running >= l.total {
			if !e.noted {
				e.noted = true
				why := strconv.Itoa(l.perApp) + " pods of " + in.app
				if l.running >= l.total {
					why = strconv.Itoa(l.total) + " pods"
				}
				notes = append(notes, note{in.app, in.id, in.release,
					"slipway: " + p.Name + "'s output is not in this log: slipway follows " + why + " already (kubectl logs has it)"})
			}
			continue
		}
		l.start(e, p.UID, in)
	}
	for uid, e := range l.entries {
		switch {
		case seen[uid]:
		case e.f == nil:
			delete(l.entries, uid)
		case e.gone == nil:
			// Deleted: its stream ends with its container; one that
			// hangs (a node lost) is cut.
			e.gone = time.AfterFunc(podGoneGrace, e.f.cancel)
		}
	}
	// Under l.mu: a destroyed app's forget waits for it, so that its log
	// is not written again.
	for _, n := range notes {
		l.appLog(n.app).Line(n.id, n.release, []byte(n.text))
	}
	l.mu.Unlock()
}

// podGoneGrace is how long the follower of a pod deleted from the watch
// may go on reading.
const podGoneGrace = 30 * time.Second

// start runs a follower for e; l.mu held.
func (l *podLogs) start(e *podEntry, uid types.UID, in podInstanceName) {
	ctx, cancel := context.WithCancel(l.ctx)
	f := &follower{l: l, uid: uid, name: e.name, in: in, log: l.appLog(in.app), mark: e.mark,
		kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	e.f = f
	l.perAppN[in.app]++
	l.running++
	l.wg.Go(func() {
		finished := f.run(ctx)
		cancel()
		l.mu.Lock()
		e.f, e.mark = nil, f.mark
		e.done = e.done || finished
		if e.gone != nil {
			e.gone.Stop()
			e.gone = nil
		}
		l.perAppN[in.app]--
		if l.perAppN[in.app] == 0 {
			delete(l.perAppN, in.app)
		}
		l.running--
		l.mu.Unlock()
		close(f.done)
		l.poke() // its place may go to a pod waiting for one
	})
}

// stop ends the followers that match and waits for them; l.mu not held.
func (l *podLogs) stop(match func(e *podEntry) bool) {
	l.mu.Lock()
	var fs []*follower
	for _, e := range l.entries {
		if e.f != nil && match(e) {
			e.f.cancel()
			fs = append(fs, e.f)
		}
	}
	l.mu.Unlock()
	for _, f := range fs {
		<-f.done
	}
}

// pause ends every follower, for an upgrade: the next slipway goes on
// from the app log. resume follows again from where they stopped.
func (l *podLogs) pause() {
	l.mu.Lock()
	l.paused = true
	l.mu.Unlock()
	l.stop(func(*podEntry) bool { return true })
}

func (l *podLogs) resume() {
	l.mu.Lock()
	l.paused = false
	l.mu.Unlock()
	l.poke()
}

// forget ends the followers of app, which was destroyed (the scheduler
// no longer runs it, so none starts again), before its log is closed.
func (l *podLogs) forget(app string) {
	l.stop(func(e *podEntry) bool { return e.app == app })
	l.mu.Lock()
	for uid, e := range l.entries {
		if e.app == app && e.f == nil {
			delete(l.entries, uid)
		}
	}
	l.mu.Unlock()
	l.tailMu.Lock()
	delete(l.tails, app)
	l.tailMu.Unlock()
}

// podInstanceName is how a pod's lines are written: the app, the
// process as on one host (web.x7k2p, cron.1, release.1, run.3), the
// release, and the container followed.
type podInstanceName struct {
	app, id, release, container string
}

// podInstance names p's lines; false for a pod whose output is not the
// app log's: a one-off run attached to its caller (slipway run), whose
// output goes to the caller, or a pod without slipway's labels.
//
// A Deployment's pods are TYPE.SUFFIX, SUFFIX the last part of the pod's
// name, the one `ps` and kubectl show: stable for the pod's life, across
// slipway's restarts, and never the same for two pods of a ReplicaSet.
// Jobs' pods are named as on one host: cron.N for cron entry N,
// release.1 for the release phase, run.N for run:detached.
func podInstance(p *corev1.Pod) (podInstanceName, bool) {
	app, typ := p.Labels[LabelApp], p.Labels[LabelProcess]
	v, err := ParseVersion(p.Labels[LabelRelease])
	if app == "" || typ == "" || err != nil || len(p.Spec.Containers) == 0 {
		return podInstanceName{}, false
	}
	in := podInstanceName{app: app, release: v.String(), container: p.Spec.Containers[0].Name}
	suffix := p.Name[strings.LastIndexByte(p.Name, '-')+1:]
	job := p.Labels["batch.kubernetes.io/job-name"] // the Job controller's
	if job == "" {
		job = p.Labels["job-name"] // before Kubernetes 1.27
	}
	own := strings.TrimPrefix(job, app+"-"+in.release+"-") // cron-2-29412345, run-3
	switch typ {
	case ProcessRelease:
		in.id = "release.1"
	case ProcessRun:
		if job == "" {
			return podInstanceName{}, false
		}
		in.id = "run." + suffix
		if n, ok := strings.CutPrefix(own, "run-"); ok && n != "" {
			in.id = "run." + n
		}
	case "cron":
		in.id = "cron." + suffix
		if rest, ok := strings.CutPrefix(own, "cron-"); ok {
			if n, _, _ := strings.Cut(rest, "-"); n != "" {
				in.id = "cron." + n
			}
		}
	default:
		in.id = typ + "." + suffix
	}
	in.id = cleanID(in.id)
	return in, true
}

// cleanID keeps an instance's name to what a label holds, so that no
// name given to a pod can change the shape of a log line.
func cleanID(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b[:min(len(b), 80)])
}

// started reports whether p's container has run: its log can be read.
func started(p *corev1.Pod, container string) bool {
	st, ok := containerStatus(p, container)
	return ok && (st.State.Running != nil || st.State.Terminated != nil || st.LastTerminationState.Terminated != nil)
}

func containerStatus(p *corev1.Pod, container string) (corev1.ContainerStatus, bool) {
	for _, st := range p.Status.ContainerStatuses {
		if st.Name == container {
			return st, true
		}
	}
	return corev1.ContainerStatus{}, false
}
