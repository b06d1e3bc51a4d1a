package kube

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/supervisor"
)

// Config configures a Scheduler.
type Config struct {
	// Client talks to the cluster's API server.
	Client *Client
	// Namespace holds every object of slipway's; DefaultNamespace when
	// empty. It must exist.
	Namespace string
	// Registry is slipway's registry as the cluster's nodes reach it,
	// HOST:PORT: the pods' images are Registry/NAME@DIGEST.
	Registry string
	// ImageDigest returns the digest of app's image tag ("v3") in
	// slipway's registry.
	ImageDigest func(ctx context.Context, app, tag string) (string, error)
	// PullAuth returns the credentials the nodes pull with (a pull token
	// of slipway's registry), for the Secret PullSecret.
	PullAuth func(ctx context.Context) (user, password string, err error)
	// Limits returns app's limits by process type (slipway.AllProcesses
	// for every type): the pods' resources.
	Limits func(ctx context.Context, app string) (map[string]slipway.Limits, error)
	// AffinityKey signs the affinity cookies: written to RouterSecret if
	// the cluster has none yet, so that every router replica honours the
	// cookies of every other.
	AffinityKey []byte
	// PreStop is how long a web pod goes on serving after it is told to
	// stop, while the routers drop it: its preStop sleep. 2 s when 0.
	PreStop time.Duration
	// DrainEvery is how often the drain loop looks at the routers'
	// reports (a wake waits for it); 250 ms when 0.
	DrainEvery time.Duration
}

// Scheduler runs apps' releases on a Kubernetes cluster. It implements
// what package apps drives a runtime with (apps.Runtime), as the
// releaser does for local processes; the use cases do not know which
// one they drive.
type Scheduler struct {
	cfg    Config
	rc     releaser.Config
	ns     string
	client *Client
	logger *slog.Logger
	layout slipway.Layout

	pods    *informer[corev1.Pod, corev1.PodList] // slipway's, for Processes
	podLogs *podLogs                              // their output, into the app logs

	mu   sync.Mutex
	apps map[string]*app

	stop     context.CancelFunc
	loops    sync.WaitGroup
	detached bool // an upgrade's new slipway drains from now on
}

// app is what the scheduler knows of one app: which releases it has put
// in the cluster and made live or draining. It is learned from the use
// cases (Release, Adopt, AdoptDraining), never remembered across
// restarts: the restore passes tell it again, and Reconcile removes what
// nothing claims.
type app struct {
	name     string
	spec     releaser.Spec // the live release's
	live     slipway.Version
	since    time.Time
	draining []drainingRelease // newest first
	busy     map[slipway.Version]bool
	scale    map[string]int
	// domains and maintenance (page) are what the router of slipway
	// serve is told, for every other replica.
	domains     []string
	maintenance bool
	page        []byte
	// stale: the ConfigMap does not say what the fields above say yet
	// (the cluster did not answer); the drain loop writes it again.
	stale bool
	log   *supervisor.AppLog
}

type drainingRelease struct {
	v      slipway.Version
	since  time.Time
	asleep bool // its pods are scaled to 0 (sleep.go)
	waking bool // a wake is in progress
}

// New returns a Scheduler for cfg, with the releaser's settings rc
// (timeouts, drain settings, the Recorder that is the history).
func New(cfg Config, rc releaser.Config) *Scheduler {
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.PreStop == 0 {
		cfg.PreStop = 2 * time.Second
	}
	if cfg.DrainEvery == 0 {
		cfg.DrainEvery = 250 * time.Millisecond
	}
	if rc.DeployTimeout == 0 {
		rc.DeployTimeout = releaser.DefaultDeployTimeout
	}
	if rc.StopGrace == 0 {
		rc.StopGrace = releaser.DefaultStopGrace
	}
	if rc.SessionTTL == 0 {
		rc.SessionTTL = releaser.DefaultSessionTTL
	}
	if rc.DrainTimeout == 0 {
		rc.DrainTimeout = releaser.DefaultDrainTimeout
	}
	if rc.MaxDraining == 0 {
		rc.MaxDraining = releaser.DefaultMaxDraining
	}
	if rc.DrainSleepAfter == 0 {
		rc.DrainSleepAfter = releaser.DefaultDrainSleepAfter
	}
	if rc.Logger == nil {
		rc.Logger = slog.Default()
	}
	if rc.Recorder == nil {
		rc.Recorder = noRecorder{}
	}
	if rc.AppLogs == nil {
		rc.AppLogs = supervisor.NewAppLogs(slipway.Layout{Root: rc.DataDir}, nil)
	}
	s := &Scheduler{cfg: cfg, rc: rc, ns: cfg.Namespace, client: cfg.Client,
		logger: rc.Logger.With("component", "kube"), layout: slipway.Layout{Root: rc.DataDir}, apps: map[string]*app{}}
	s.podLogs = newPodLogs(cfg.Client.CoreV1().Pods(s.ns), s.logger)
	s.podLogs.pod = func(name string) *corev1.Pod { return s.pods.Get(name) }
	s.podLogs.pods = func() []*corev1.Pod { return s.pods.List(labels.Everything()) }
	s.podLogs.runs = s.runs
	s.podLogs.appLog = rc.AppLogs.For
	s.podLogs.path = s.layout.AppLog
	s.pods = newInformer(cfg.Client.CoreV1().Pods(s.ns).Resource, managedSelector, s.podLogs.changed, s.logger)
	return s
}

// Start watches the cluster's pods (what Processes shows), follows their
// output into the app logs (podlogs.go) and runs the drain loop. The
// routers' key goes into the cluster first, so that a router replica
// started with the control plane finds it.
func (s *Scheduler) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	if len(s.cfg.AffinityKey) > 0 {
		kctx, kcancel := context.WithTimeout(ctx, 30*time.Second)
		if err := EnsureAffinityKey(kctx, s.client, s.ns, s.cfg.AffinityKey); err != nil {
			s.logger.Error("the routers' affinity key", "err", err)
		}
		kcancel()
	}
	s.loops.Go(func() { s.pods.Run(ctx) })
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	if !waitSynced(sctx, s.pods.Synced()) {
		s.logger.Error("watch the cluster", "what", "pods", "err", "not listed in 30s")
	}
	scancel()
	s.loops.Go(func() { s.podLogs.run(ctx) })
	s.loops.Go(func() { s.drainLoop(ctx) })
}

// StopGrace is how long a pod has to stop after its preStop sleep.
func (s *Scheduler) StopGrace() time.Duration { return s.rc.StopGrace }

// Shutdown stops the scheduler's own work. The apps keep running in the
// cluster: the next slipway takes them back.
func (s *Scheduler) Shutdown(context.Context) error {
	if s.stop != nil {
		s.stop()
	}
	s.loops.Wait()
	return nil
}

// Detach, for an upgrade: the new slipway drains, retires and follows
// the pods' output from now on. Resume undoes it (the upgrade failed);
// Abandon has nothing to leave behind.
func (s *Scheduler) Detach() {
	s.mu.Lock()
	s.detached = true
	s.mu.Unlock()
	s.podLogs.pause()
}

func (s *Scheduler) Resume() {
	s.mu.Lock()
	s.detached = false
	s.mu.Unlock()
	s.podLogs.resume()
}

func (s *Scheduler) Abandon() {}

// SetAutosleep is not done on a cluster: its pods keep running (a
// draining release's pods go when it is retired).
func (s *Scheduler) SetAutosleep(string, time.Duration, bool) {}

// RunsImages tells the application layer that every release must be an
// image in slipway's registry before it is released: the nodes pull it.
func (s *Scheduler) RunsImages() bool { return true }

func (s *Scheduler) app(name string) *app {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[name]
	if !ok {
		a = &app{name: name, busy: map[slipway.Version]bool{}, log: s.rc.AppLogs.For(name)}
		s.apps[name] = a
	}
	return a
}

// runs reports whether app has a release in the cluster the scheduler
// knows of: live, draining or being deployed. Its pods' output is
// followed then, and not once it is stopped or destroyed (a call that
// names it again, as destroy's last steps do, makes it no such app).
func (s *Scheduler) runs(app string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[app]
	return ok && (a.live != 0 || len(a.draining) > 0 || len(a.busy) > 0)
}

// LogLine adds a line to the app's log, as the releaser does.
func (s *Scheduler) LogLine(app, id, release, text string) {
	s.app(app).log.Line(id, release, []byte(text))
}

func (s *Scheduler) labels(app string, v slipway.Version, process string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelApp: app, LabelRelease: v.String(), LabelProcess: process}
}

type noRecorder struct{}

func (noRecorder) Live(string, slipway.Version, releaser.Spec, []slipway.InstanceRecord) error {
	return nil
}
func (noRecorder) Retired(string, slipway.Version)                             {}
func (noRecorder) Instances(string, slipway.Version, []slipway.InstanceRecord) {}
func (noRecorder) Sleeping(string, slipway.Version, time.Time)                 {}
