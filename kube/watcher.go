package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/slipway/slipway/router"
)

// DefaultRenew is how often a router replica renews its Lease: well
// inside LeaseDuration, so a replica that is alive never looks gone.
const DefaultRenew = 2 * time.Second

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// Client talks to the cluster's API server.
	Client *Client
	// Namespace is where slipway's objects are; DefaultNamespace if empty.
	Namespace string
	// Replica names this router replica (its Lease is LeaseName(Replica)).
	Replica string
	// Router is the replica's router, whose pools the Watcher sets.
	Router *router.Router
	// Renew is how often the Lease is renewed; DefaultRenew if zero.
	Renew time.Duration
	// WakeTimeout bounds how long a pinned request waits for its
	// sleeping release to wake; DefaultWakeTimeout if zero.
	WakeTimeout time.Duration
	// Logger receives one line per switch, retire and pool change. If
	// nil, slog.Default() is used.
	Logger *slog.Logger
}

// DefaultWakeTimeout is the control plane's default deploy timeout and a
// margin: how long it may take to have a sleeping release's pods Ready.
const DefaultWakeTimeout = 90 * time.Second

// Watcher is a router replica's side of the Kubernetes runtime: it keeps
// its router's pools in step with the apps' ConfigMaps and their Ready web
// pods, and reports what it serves in its Lease. Run runs it.
//
// One pool per app and release: the ConfigMap's KeyLive release is live,
// the KeyDraining ones drain (their pinned sessions stay), any other is
// retired (its sessions move to the live one). A pool is rebuilt when its
// pods change, so a dead pod's pinned requests go to another pod of the
// same release. A new live release is switched to only once it has a Ready
// pod this replica knows of: its pods' events may come after the
// ConfigMap's, and switching to an empty pool would answer 503.
type Watcher struct {
	cfg  WatcherConfig
	log  *slog.Logger
	pods *informer[corev1.Pod, corev1.PodList]
	maps *informer[corev1.ConfigMap, corev1.ConfigMapList]

	synced chan struct{} // closed once the first lists are in the router

	dirtyMu sync.Mutex
	dirty   map[string]bool // apps to look at again
	kick    chan struct{}   // a send means dirty has apps

	mu   sync.Mutex // guards apps: the reconcile loop writes, Report reads
	apps map[string]*appView

	wakeMu   sync.Mutex
	wakes    map[string]map[string]bool // by app, the sleeping releases pinned requests wait for
	renewNow chan struct{}              // a send renews the Lease at once
}

// appView is what the Watcher has put in the router for one app; the
// router's Draining is the rest.
type appView struct {
	live     *router.Pool // nil while the app is stopped
	switched time.Time
	waiting  string // the live release waited for (logged once)
	// domains and maintenance are the ConfigMap's as last applied.
	domains, maintenance, page string
}

// NewWatcher returns a Watcher; Run starts it.
func NewWatcher(cfg WatcherConfig) *Watcher {
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Renew <= 0 {
		cfg.Renew = DefaultRenew
	}
	if cfg.WakeTimeout <= 0 {
		cfg.WakeTimeout = DefaultWakeTimeout
	}
	w := &Watcher{cfg: cfg, log: cfg.Logger, synced: make(chan struct{}), dirty: map[string]bool{}, kick: make(chan struct{}, 1), apps: map[string]*appView{},
		wakes: map[string]map[string]bool{}, renewNow: make(chan struct{}, 1)}
	if w.log == nil {
		w.log = slog.Default()
	}
	w.log = w.log.With("replica", cfg.Replica)
	return w
}

// Run watches the namespace's pods and ConfigMaps labelled as slipway's,
// builds the router's pools from them and renews the Lease, until ctx
// ends; then it deletes the Lease and returns. A replica started late
// builds the same pools from the informers' first list.
func (w *Watcher) Run(ctx context.Context) error {
	core := w.cfg.Client.CoreV1()
	w.pods = newInformer(core.Pods(w.cfg.Namespace).Resource, managedSelector,
		func(p *corev1.Pod) { w.mark(p.Labels[LabelApp]) }, w.log)
	w.maps = newInformer(core.ConfigMaps(w.cfg.Namespace), managedSelector, func(cm *corev1.ConfigMap) {
		app, _ := strings.CutPrefix(cm.Name, AppConfigMap(""))
		w.mark(app)
	}, w.log)
	var informers sync.WaitGroup
	defer informers.Wait()
	ictx, stopInformers := context.WithCancel(ctx)
	defer stopInformers()
	informers.Go(func() { w.pods.Run(ictx) })
	informers.Go(func() { w.maps.Run(ictx) })
	if !waitSynced(ctx, w.pods.Synced(), w.maps.Synced()) {
		return nil // ctx ended first
	}
	w.reconcileDirty()
	close(w.synced)
	w.log.Info("router replica watching", "namespace", w.cfg.Namespace, "apps", len(w.Report().Apps))

	var wg sync.WaitGroup
	wg.Go(func() { w.leaseLoop(ctx) })
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			w.deleteLease()
			return nil
		case <-w.kick:
			w.reconcileDirty()
		}
	}
}

// Synced is closed once the router has the pools of the informers' first
// lists: a replica should not take requests before (it would answer 404).
func (w *Watcher) Synced() <-chan struct{} { return w.synced }

// mark marks app, one of whose objects changed, for another look.
func (w *Watcher) mark(app string) {
	if app == "" {
		return
	}
	w.dirtyMu.Lock()
	w.dirty[app] = true
	w.dirtyMu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// reconcileDirty looks again at every app marked since the last time.
func (w *Watcher) reconcileDirty() {
	w.dirtyMu.Lock()
	apps := w.dirty
	w.dirty = map[string]bool{}
	w.dirtyMu.Unlock()
	for app := range apps {
		w.reconcile(app)
	}
}

// reconcile brings app's pools in the router in line with its ConfigMap
// and its Ready pods.
func (w *Watcher) reconcile(app string) {
	rt := w.cfg.Router
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.apps[app]
	cm := w.maps.Get(AppConfigMap(app))
	if cm == nil || cm.Labels[LabelManagedBy] != ManagedBy {
		if v != nil {
			rt.Remove(app)
			rt.SetStopped(app, false)
			rt.SetDomains(app, nil)
			rt.SetMaintenance(app, false, nil)
			delete(w.apps, app)
			w.log.Info("app gone: its ConfigMap was deleted", "app", app)
		}
		return
	}
	if v == nil {
		v = &appView{}
		w.apps[app] = v
	}
	w.setPages(app, v, cm.Data)
	live := cm.Data[KeyLive]
	if live == "" {
		if v.live != nil {
			rt.Remove(app)
			rt.SetStopped(app, true)
			v.live, v.switched, v.waiting = nil, time.Now(), ""
			w.log.Info("app stopped", "app", app)
		}
		return
	}
	ready := w.readyPods(app)
	w.setLive(app, v, live, ready[live], cm.Data[KeySwitched])
	if v.live != nil {
		w.syncDraining(app, v, Draining(cm.Data[KeyDraining]), Draining(cm.Data[KeyAsleep]), ready)
	}
}

// setLive makes release live app's live pool, with insts, unless it is a
// new live release with no Ready pod yet while another one serves.
func (w *Watcher) setLive(app string, v *appView, live string, insts []*router.Instance, switchedAt string) {
	rt := w.cfg.Router
	cur := v.live
	switch {
	case cur != nil && cur.Release == live:
		if !sameInstances(cur.Instances, insts) {
			// A pool of the same release replaces the live one without
			// draining: its sessions continue on the pods that remain.
			p := &router.Pool{App: app, Release: live, Instances: reuse(cur.Instances, insts)}
			rt.SetLive(p)
			v.live = p
			w.log.Info("live pool's pods changed", "app", app, "release", live, "pods", len(insts))
		}
		return
	case cur != nil && len(insts) == 0:
		if v.waiting != live {
			v.waiting = live
			w.log.Info("new live release has no Ready pod here yet: the old one stays live", "app", app, "release", live, "live", cur.Release)
		}
		return
	}
	p := &router.Pool{App: app, Release: live, Instances: insts}
	if i := slices.IndexFunc(rt.Draining(app), func(d *router.Pool) bool { return d.Release == live }); i >= 0 {
		if d := rt.Draining(app)[i]; sameInstances(d.Instances, insts) {
			p = d // a rollback to a draining pool keeps its sessions
		}
	}
	if cur == nil {
		rt.SetStopped(app, false)
	}
	rt.SetLive(p)
	now := time.Now()
	v.live, v.switched, v.waiting = p, now, ""
	args := []any{"app", app, "release", live, "pods", len(insts)}
	if cur != nil {
		args = append(args, "replaced", cur.Release)
	}
	if t, err := time.Parse(time.RFC3339Nano, switchedAt); err == nil {
		args = append(args, "after", now.Sub(t).String()) // since the control plane's switch, by two clocks
	}
	w.log.Info("switched", args...)
}

// syncDraining retires app's draining pools whose release is not in
// draining, rebuilds those whose pods changed, and takes up those this
// replica lacks (it started late, or skipped a release whose pods it did
// not see Ready in time).
func (w *Watcher) syncDraining(app string, v *appView, draining, asleep []string, ready map[string][]*router.Instance) {
	rt := w.cfg.Router
	have := rt.Draining(app)
	for _, p := range have {
		switch {
		case !slices.Contains(draining, p.Release):
			rt.Retire(p)
			w.log.Info("draining release retired", "app", app, "release", p.Release)
		case slices.Contains(asleep, p.Release):
			// Its pods are going: its pinned requests wait for a wake.
			if !p.Sleeping() && rt.Sleep(p, w.waker(app, p.Release)) != nil {
				w.log.Info("draining release asleep", "app", app, "release", p.Release)
			}
		case p.Sleeping():
			// Awake again: the control plane found its pods Ready.
			if len(ready[p.Release]) > 0 && rt.Replace(p, &router.Pool{App: app, Release: p.Release, Instances: ready[p.Release]}) {
				w.log.Info("draining release awake", "app", app, "release", p.Release, "pods", len(ready[p.Release]))
			}
		case !sameInstances(p.Instances, ready[p.Release]):
			if rt.Replace(p, &router.Pool{App: app, Release: p.Release, Instances: reuse(p.Instances, ready[p.Release])}) {
				w.log.Info("draining pool's pods changed", "app", app, "release", p.Release, "pods", len(ready[p.Release]))
			}
		}
	}
	var missing []string
	for _, rel := range draining { // newest first: AddDraining adds each as the oldest
		if rel == v.live.Release || slices.ContainsFunc(have, func(p *router.Pool) bool { return p.Release == rel }) {
			continue
		}
		switch {
		case slices.Contains(asleep, rel):
			rt.AddDraining(router.NewSleeping(app, rel, w.waker(app, rel)))
		case len(ready[rel]) > 0:
			rt.AddDraining(&router.Pool{App: app, Release: rel, Instances: ready[rel]})
		default:
			continue
		}
		missing = append(missing, rel)
	}
	if len(missing) == 0 {
		return
	}
	// Never live here: a new client never lands on them.
	w.log.Info("draining releases taken up", "app", app, "releases", strings.Join(missing, " "))
}

// readyPods returns app's Ready web pods by release, as instances sorted
// by ID.
func (w *Watcher) readyPods(app string) map[string][]*router.Instance {
	sel := labels.SelectorFromSet(labels.Set{LabelApp: app, LabelProcess: "web"})
	pods := w.pods.List(sel)
	out := map[string][]*router.Instance{}
	for _, pod := range pods {
		rel := pod.Labels[LabelRelease]
		if _, err := ParseVersion(rel); err != nil || !servable(pod) {
			continue
		}
		addr := net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(webPort(pod)))
		out[rel] = append(out[rel], &router.Instance{ID: InstanceID(pod.Name), Addr: addr})
	}
	for _, insts := range out {
		slices.SortFunc(insts, func(a, b *router.Instance) int { return strings.Compare(a.ID, b.ID) })
	}
	return out
}

// servable reports whether pod may take requests: Ready, with an address,
// and not on its way out (a deleted pod stays Ready until it ends).
func servable(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.PodIP == "" ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// webPort is the container port named "http" of pod, else WebPort.
func webPort(pod *corev1.Pod) int {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == "http" && p.ContainerPort > 0 {
				return int(p.ContainerPort)
			}
		}
	}
	return WebPort
}

// maxInstanceID is the longest instance ID an affinity cookie holds.
const maxInstanceID = 64

// InstanceID is the router's ID of the pod named pod, which the affinity
// cookie names: the pod's name, or for a name too long for a cookie (a
// Deployment's pods have at most 63 bytes) its start and a hash of it.
func InstanceID(pod string) string {
	if len(pod) <= maxInstanceID {
		return pod
	}
	sum := sha256.Sum256([]byte(pod))
	return pod[:maxInstanceID-17] + "-" + hex.EncodeToString(sum[:8])
}

// sameInstances reports whether a and b are the same pods at the same
// addresses, in order.
func sameInstances(a, b []*router.Instance) bool {
	return slices.EqualFunc(a, b, func(x, y *router.Instance) bool { return x.ID == y.ID && x.Addr == y.Addr })
}

// reuse returns next with the instances of prev that it has again (same
// ID and address) in their place, so their counts of outstanding
// requests carry over to the rebuilt pool.
func reuse(prev, next []*router.Instance) []*router.Instance {
	out := make([]*router.Instance, len(next))
	for i, n := range next {
		out[i] = n
		for _, p := range prev {
			if p.ID == n.ID && p.Addr == n.Addr {
				out[i] = p
				break
			}
		}
	}
	return out
}

// Report returns what the replica serves now, as its Lease reports it.
func (w *Watcher) Report() RouterReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := RouterReport{Apps: make(map[string]AppReport, len(w.apps))}
	for app, v := range w.apps {
		a := AppReport{Switched: v.switched}
		if v.live != nil {
			a.Live = v.live.Release
		}
		for _, p := range w.cfg.Router.Draining(app) {
			if a.Draining == nil {
				a.Draining = map[string]PoolReport{}
			}
			a.Draining[p.Release] = PoolReport{LastSeen: p.LastSeen(), InFlight: p.InFlight(), Sessions: p.Sessions()}
		}
		w.wakeMu.Lock()
		for rel := range w.wakes[app] {
			a.Wake = append(a.Wake, rel)
		}
		w.wakeMu.Unlock()
		slices.Sort(a.Wake)
		r.Apps[app] = a
	}
	return r
}

// leaseLoop renews the replica's Lease every Renew until ctx ends.
func (w *Watcher) leaseLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.Renew)
	defer t.Stop()
	failing := false
	for {
		err := w.renew(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			w.log.Warn("renew the replica's Lease: the control plane may take this replica for gone", "lease", LeaseName(w.cfg.Replica), "err", err)
			failing = true
		case err == nil && failing:
			w.log.Info("the replica's Lease is renewed again", "lease", LeaseName(w.cfg.Replica))
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.renewNow: // a wake to ask for
		}
	}
}

// renew creates or renews the replica's Lease with its Report.
func (w *Watcher) renew(ctx context.Context) error {
	report, err := json.Marshal(w.Report())
	if err != nil {
		return err
	}
	leases := w.cfg.Client.CoordinationV1().Leases(w.cfg.Namespace)
	name := LeaseName(w.cfg.Replica)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		secs := int32(LeaseDuration / time.Second)
		l = &coordv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelManagedBy: ManagedBy},
				Annotations: map[string]string{AnnotationPools: string(report)}},
			Spec: coordv1.LeaseSpec{HolderIdentity: &w.cfg.Replica, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if l.Labels[LabelManagedBy] != ManagedBy {
		return fmt.Errorf("the Lease %s is not slipway's (no %s=%s label): remove it, or give this replica another --replica name", name, LabelManagedBy, ManagedBy)
	}
	secs := int32(LeaseDuration / time.Second)
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[AnnotationPools] = string(report)
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &w.cfg.Replica, &secs, &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// deleteLease deletes the replica's Lease at a clean stop, so that the
// control plane does not wait for it to expire before a drain ends.
func (w *Watcher) deleteLease() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leases := w.cfg.Client.CoordinationV1().Leases(w.cfg.Namespace)
	name := LeaseName(w.cfg.Replica)
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err == nil && l.Labels[LabelManagedBy] == ManagedBy {
		err = leases.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &l.UID}})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		w.log.Warn("delete the replica's Lease: it expires on its own", "lease", name, "err", err)
	}
}

// waker wakes release rel of app, asleep (see sleep.go): it asks the
// control plane in the replica's report, at once, and waits until the
// awake pool has replaced the sleeping one (syncDraining does it when the
// control plane takes the release out of KeyAsleep) or the release is
// retired. One that does not wake in WakeTimeout is retired here: its
// requests go to the live release, as when a pool has gone.
func (w *Watcher) waker(app, rel string) func(sleeping *router.Pool) error {
	return func(sleeping *router.Pool) error {
		w.wakeMu.Lock()
		if w.wakes[app] == nil {
			w.wakes[app] = map[string]bool{}
		}
		w.wakes[app][rel] = true
		w.wakeMu.Unlock()
		defer func() {
			w.wakeMu.Lock()
			delete(w.wakes[app], rel)
			w.wakeMu.Unlock()
		}()
		select {
		case w.renewNow <- struct{}{}:
		default:
		}
		w.log.Info("a pinned request wakes a sleeping release", "app", app, "release", rel)
		deadline := time.Now().Add(w.cfg.WakeTimeout)
		for time.Now().Before(deadline) {
			pools := w.cfg.Router.Draining(app)
			i := slices.IndexFunc(pools, func(p *router.Pool) bool { return p.Release == rel })
			if i < 0 || !pools[i].Sleeping() {
				return nil // awake, or retired: its requests go to the live pool
			}
			time.Sleep(20 * time.Millisecond)
		}
		w.cfg.Router.Retire(sleeping)
		return fmt.Errorf("%s %s did not wake within %s", app, rel, w.cfg.WakeTimeout)
	}
}

// setPages gives the router app's own domains and maintenance as its
// ConfigMap says, when they changed.
func (w *Watcher) setPages(app string, v *appView, data map[string]string) {
	rt := w.cfg.Router
	if d := data[KeyDomains]; d != v.domains {
		rt.SetDomains(app, strings.Fields(d))
		v.domains = d
		w.log.Info("domains", "app", app, "domains", d)
	}
	if m, p := data[KeyMaintenance], data[KeyMaintenancePage]; m != v.maintenance || p != v.page {
		rt.SetMaintenance(app, m == "on", []byte(p))
		v.maintenance, v.page = m, p
		w.log.Info("maintenance", "app", app, "on", m == "on")
	}
}
