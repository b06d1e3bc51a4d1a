package apps

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/registry"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/services"
)

var _ slipway.AppService = (*Service)(nil)

// Store is what the application layer needs of the history (package
// sqlite).
type Store interface {
	slipway.ReleaseStore
	slipway.ConfigStore
	slipway.ScaleStore
	slipway.ResourceStore
	slipway.DomainStore
	slipway.SettingStore
	slipway.EventStore
	slipway.ServiceStore
	slipway.WebhookStore
}

// Builder builds a push into a release directory (package builder).
type Builder interface {
	Build(ctx context.Context, req builder.Request, out io.Writer) (*builder.Release, error)
}

// Config configures a Service.
type Config struct {
	DataDir string
	Store   Store
	Builder Builder
	// Releaser configures the releaser the Service runs the apps with;
	// its Recorder is the Service's history.
	Releaser releaser.Config
	// NewRuntime, when set, makes the Runtime the apps run on from the
	// releaser's config (with the Service's history as its Recorder):
	// kube.New for a Kubernetes cluster. Nil runs them as local processes
	// (releaser.New).
	NewRuntime func(releaser.Config) Runtime
	// Domain and HTTPAddr make an app's URL: http://NAME.DOMAIN:PORT/.
	Domain   string
	HTTPAddr func() string
	// Isolation says in a few words how isolated apps are, for apps:info.
	Isolation string
	// Identities, when set, are the apps' sandbox identities (the same
	// the builder and the releaser were given); a destroyed app's is
	// forgotten.
	Identities *Identities
	// SSHAddr returns the ssh endpoint's address, for the git remote a
	// user adds; nil means :2222.
	SSHAddr func() string
	// Keys, when set, is the authorized_keys file ssh-keys:* manage.
	Keys *gitserver.KeyFile
	// Hosts, when set, routes the apps' own domains (the router).
	Hosts Hosts
	// Pages, when set, answers for apps in maintenance or stopped (the
	// router).
	Pages interface {
		SetMaintenance(app string, on bool, page []byte)
		SetStopped(app string, stopped bool)
		SetUndeployed(app string, undeployed bool)
	}
	// AccessLogs, when set, turns the router's access lines of an app on
	// and off (logs:access): the local router; the replicas of a
	// Kubernetes cluster write none.
	AccessLogs interface {
		SetAccessLog(app string, on bool)
	}
	// Certs, when set, holds the certificates of the apps' names.
	Certs Certs
	// Drains, when set, sends the apps' logs on to their log drains
	// (drains:add); without it they are stored and not sent.
	Drains LogDrains
	// DrainIDKey keys the drains' ids (slipway.LogDrainID): the key
	// Drains was given, so that both name a drain alike. nil is an empty
	// key, for tests.
	DrainIDKey []byte
	// Handover says this slipway process took over from one that handed
	// over to it (an upgrade): the cron runs that one left finish on
	// their own instead of being ended as leftovers.
	Handover bool
	// OnDeploy, when set, hears of every push deploy's result and build
	// time (for metrics).
	OnDeploy func(ok bool, build time.Duration)
	// Registry, when set, is slipway's image registry: imports, the
	// releases' images and their garbage collection.
	Registry *registry.Registry
	// MaxImageSize bounds an imported image.
	MaxImageSize int64
	// Stack is the base image of the releases' images (NAME:TAG of the
	// registry); none when empty.
	Stack string
	// Webhooks, when set, delivers the apps' events (deploy, rollback,
	// config, crash) to their webhooks; nil sends none, and webhooks:add
	// is refused.
	Webhooks Webhooks
	Logger   *slog.Logger // slog.Default when nil
}

// Service runs the use cases on apps.
type Service struct {
	cfg    Config
	layout slipway.Layout
	store  Store
	rel    Runtime
	svcs   *services.Runtime // the backing services' servers
	locks  locks
	logger *slog.Logger

	mu      sync.Mutex
	pending map[string]refUpdate // by app: deployed pushes git has yet to write
	crashed map[string]time.Time // by app: when its webhooks last heard of a crash

	background     sync.WaitGroup // scheduled backups
	stopBackground context.CancelFunc

	noRedirect atomic.Pointer[map[string]bool] // apps whose plain HTTP is not redirected to HTTPS

	tokensOnce sync.Once
	tokens     *pullTokens // the registry's pull tokens

	publishing chan releaser.Spec // releases waiting for their image (releaseimage.go)
	builds     buildCreds         // the registry credentials of the Dockerfile builds in progress
}

// New returns a Service for cfg, with its releaser. Start restores the
// apps; Shutdown stops them.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPAddr == nil {
		cfg.HTTPAddr = func() string { return ":80" }
	}
	s := &Service{cfg: cfg, layout: slipway.Layout{Root: cfg.DataDir}, store: cfg.Store,
		logger: cfg.Logger.With("component", "apps")}
	rc := cfg.Releaser
	rc.DataDir = cfg.DataDir
	rc.Recorder = history{s}
	if rc.Logger == nil {
		rc.Logger = cfg.Logger
	}
	if prior := rc.OnCrash; cfg.Webhooks != nil {
		rc.OnCrash = func(app string, v slipway.Version, instance, exit string, loop int) {
			if prior != nil {
				prior(app, v, instance, exit, loop)
			}
			s.instanceCrashed(app, v, instance, exit, loop)
		}
	}
	if cfg.NewRuntime != nil {
		s.rel = cfg.NewRuntime(rc)
	} else {
		s.rel = releaser.New(rc)
	}
	s.svcs = services.NewRuntime(services.RuntimeConfig{Record: s.recordService, StopGrace: serviceStopGrace,
		Logger: cfg.Logger.With("component", "services")})
	return s
}

// Start takes back what the slipway before this one left running, ends
// and removes the rest of what it left behind, then starts the releaser's
// background work and every app's live release (see Restore).
func (s *Service) Start(ctx context.Context) {
	s.finishRename(ctx)
	found := s.cleanAfterRestart()
	s.rel.Start()
	s.restoreDomains(ctx)
	s.restoreRedirects(ctx)
	s.restoreDrains(ctx) // before the apps' first lines
	s.restoreAccessLogs(ctx)
	s.restoreServices(ctx) // before the apps, which need them
	s.restoreAutosleep(ctx)
	s.Restore(ctx, found)
	if r, ok := s.rel.(reconciler); ok {
		if keep := s.historyKeeps(ctx); keep != nil {
			r.Reconcile(ctx, keep)
		}
	}
	s.restoreMaintenance(ctx)
	bg, cancel := context.WithCancel(context.Background())
	s.stopBackground = cancel
	s.background.Go(func() { s.backupSchedules(bg) })
	s.startPublishing(bg)
}

// Shutdown stops every app's processes, within ctx, then the services'
// servers (the apps' last requests may still write).
func (s *Service) Shutdown(ctx context.Context) error {
	s.endBackground()
	err := s.rel.Shutdown(ctx)
	s.svcs.StopAll()
	return err
}

// endBackground stops the background work (scheduled backups, the
// releases' images) and waits for it.
func (s *Service) endBackground() {
	if s.stopBackground != nil {
		s.stopBackground()
	}
	s.background.Wait()
}

// StopBound is how long stopping every app and service may take: the
// grace of a SIGTERM, a server's clean stop and a margin.
func (s *Service) StopBound() time.Duration {
	return s.rel.StopGrace() + serviceStopGrace + 5*time.Second
}

// serviceStopGrace is how long a service's server has to stop cleanly
// (PostgreSQL's fast shutdown writes a checkpoint) before SIGKILL.
const serviceStopGrace = 30 * time.Second

// Isolation says how isolated apps are.
func (s *Service) Isolation() string { return s.cfg.Isolation }

// DiskUsage says what app writes on: how much of its own filesystem it
// uses, or the data dir's filesystem.
func (s *Service) DiskUsage(app string) string {
	if s.cfg.Identities == nil {
		return ""
	}
	return s.cfg.Identities.DiskUsage(app)
}

// Running returns the running state of every app, for metrics.
func (s *Service) Running() []releaser.AppStatus { return s.rel.Apps() }

// GitRemote is the git remote a user adds to deploy app: ssh to --domain
// (where the apps' names point) on the ssh port.
func (s *Service) GitRemote(app string) string {
	port := "2222"
	if s.cfg.SSHAddr != nil {
		if _, p, err := net.SplitHostPort(s.cfg.SSHAddr()); err == nil {
			port = p
		}
	}
	return "ssh://git@" + net.JoinHostPort(s.cfg.Domain, port) + "/" + app
}

// URL is where app is served.
func (s *Service) URL(app string) string {
	port := ""
	if _, p, err := net.SplitHostPort(s.cfg.HTTPAddr()); err == nil && p != "80" {
		port = ":" + p
	}
	return "http://" + app + "." + s.cfg.Domain + port + "/"
}

// exists returns ENOTFOUND, with a message saying what to do, unless app
// is a valid name of an app that exists.
func (s *Service) exists(ctx context.Context, app string) error {
	if err := slipway.ValidateAppName(app); err != nil {
		return err
	}
	if _, err := s.store.AppConfig(ctx, app); err != nil {
		if slipway.ErrorCode(err) == slipway.ENOTFOUND {
			return slipway.Errorf(slipway.ENOTFOUND, "no app named %q: push to it first", app)
		}
		return err
	}
	return nil
}

// background is the context of a history write that must happen even when
// the caller's context has ended: the history is not allowed to lag.
func background() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// Detach leaves every app running, unsupervised, for the slipway process
// that takes over (an upgrade); call it frozen (Freeze). Resume undoes it
// when that process did not start.
func (s *Service) Detach() {
	s.rel.Detach()
	s.svcs.Detach()
}

// Resume supervises the apps again after Detach.
func (s *Service) Resume() {
	s.svcs.Resume()
	s.rel.Resume()
}

// Abandon stops the background work of this slipway process but none of
// the apps or services, which the process that took over supervises now.
func (s *Service) Abandon() {
	s.endBackground()
	s.rel.Abandon()
}

// SSHKeys returns the authorized keys.
func (s *Service) SSHKeys(context.Context) ([]gitserver.KeyInfo, error) {
	if s.cfg.Keys == nil {
		return nil, slipway.Errorf(slipway.EINVALID, "slipway manages no authorized_keys here")
	}
	return s.cfg.Keys.List()
}

// AddSSHKey authorizes a public key under name, for apps when it names any.
func (s *Service) AddSSHKey(_ context.Context, name string, key []byte, apps []string) (gitserver.KeyInfo, error) {
	if s.cfg.Keys == nil {
		return gitserver.KeyInfo{}, slipway.Errorf(slipway.EINVALID, "slipway manages no authorized_keys here")
	}
	k, err := s.cfg.Keys.Add(name, key, apps)
	if err == nil {
		s.logger.Info("ssh key added", "name", name, "fingerprint", k.Fingerprint, "apps", strings.Join(apps, ","))
	}
	return k, err
}

// RemoveSSHKey takes the key named name away.
func (s *Service) RemoveSSHKey(_ context.Context, name string) error {
	if s.cfg.Keys == nil {
		return slipway.Errorf(slipway.EINVALID, "slipway manages no authorized_keys here")
	}
	err := s.cfg.Keys.Remove(name)
	if err == nil {
		s.logger.Info("ssh key removed", "name", name)
	}
	return err
}
