package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
	"github.com/robfig/cron/v3"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/apps"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/certs"
	"github.com/slipway/slipway/commands"
	"github.com/slipway/slipway/drains"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/internal/activation"
	"github.com/slipway/slipway/internal/atomicfile"
	"github.com/slipway/slipway/internal/httpserver"
	"github.com/slipway/slipway/internal/pausable"
	"github.com/slipway/slipway/internal/secret"
	"github.com/slipway/slipway/metrics"
	"github.com/slipway/slipway/netfilter"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/router"
	"github.com/slipway/slipway/sqlite"
	"github.com/slipway/slipway/stats"
	"github.com/slipway/slipway/supervisor"
	"github.com/slipway/slipway/web"
	"github.com/slipway/slipway/webhooks"
)

// shutdownTimeout bounds a clean stop after SIGINT or SIGTERM: deploys in
// flight get this long to finish, then everything is closed.
const shutdownTimeout = 20 * time.Second

// webhooksDrain bounds the webhook deliveries' last attempts at a stop,
// once the deploys in flight (whose events they are) have ended.
const webhooksDrain = 5 * time.Second

// drainFlush bounds how long a stopping slipway delivers the log lines
// still buffered for the apps' log drains.
const drainFlush = 5 * time.Second

// drainWindow is how long a slipway that handed over to a new process
// answers on its open HTTP connections, each answer closing its
// connection, before it closes those left idle.
const drainWindow = 2 * time.Second

func runServe(ctx context.Context, args []string) int {
	cfg, err := parseServeFlags(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "slipway serve: %v\n", err)
		return 2
	}
	logger := newLogger(cfg.LogFormat)
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("slipway stopped", "err", err)
		fmt.Fprintf(os.Stderr, "slipway serve: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// serve starts every part of slipway, waits for ctx to end and stops them:
// the servers in parallel under one timeout, then the cron jobs, then the
// apps with a bound of their own, and the database last.
func serve(ctx context.Context, cfg serveConfig, logger *slog.Logger) error {
	// SIGHUP upgrades in place; caught from the start, so that an early
	// one does not end slipway (its default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	layout := slipway.Layout{Root: cfg.DataDir}
	if path := os.Getenv("SLIPWAY_CPUPROFILE"); path != "" {
		stop, err := cpuProfile(path)
		if err != nil {
			return err
		}
		defer stop()
	}
	caps := listenerCaps(cfg, fileLimit(), logger)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	db := sqlite.NewDB(layout.DB())
	if err := db.Open(); err != nil {
		return fmt.Errorf("open the history database: %w", err)
	}
	defer db.Close()
	key, err := secret.Key(layout.AffinityKey())
	if err != nil {
		return fmt.Errorf("affinity key: %w", err)
	}
	token, err := adminToken(cfg, layout, logger)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	kw, err := openKube(cfg)
	if err != nil {
		return err
	}
	src := &poolSource{}
	mets := metrics.New(src)
	// Every app's log, one per app, shared by its processes' output and
	// the router's access lines; each line goes on to the app's log
	// drains too, which apps.Service tells the drains manager.
	// The drains' ids are keyed (by a key of the host's alone: on
	// Kubernetes the affinity key is the router replicas' too): /metrics
	// needs no login, and a drain's URL may hold a password.
	idKey, err := secret.Key(layout.DrainIDKey())
	if err != nil {
		return fmt.Errorf("drain id key: %w", err)
	}
	drainIDKey := slipway.LogDrainIDKey(idKey)
	logDrains := drains.New(drains.Config{IDKey: drainIDKey, Logger: logger})
	mets.WatchLogDrains(logDrains.All)
	stopDrains := func() {
		dctx, cancel := context.WithTimeout(context.Background(), drainFlush)
		defer cancel()
		logDrains.Shutdown(dctx) // what is lost is logged
	}
	appLogs := supervisor.NewAppLogs(layout, logDrains)
	// The router's access lines reach the apps' logs through a bounded
	// queue and a goroutine of their own, stopped once the HTTP servers
	// have (or at an early return).
	access := router.NewAccessLog(router.AccessLogConfig{Write: func(app string, lines [][]byte) {
		appLogs.For(app).Lines(slipway.RouterProcess, "", lines)
	}})
	access.Start()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		access.Shutdown(ctx)
	}()
	mets.WatchAccessLogDrops(access.Dropped)
	rt := router.New(router.Config{Domain: cfg.Domain, AffinityKey: key, SessionTTL: cfg.SessionTTL, Observe: mets.Upstream,
		TrustedProxies: cfg.TrustedProxies, AccessLog: access, Logger: logger})
	defer rt.Close()
	// Listening sockets come from the slipway process that handed over
	// (an upgrade), else from a service manager (systemd's slipway-*.socket units:
	// ssh, http, admin, in that order unless LISTEN_FDNAMES names them),
	// else are made here; they are bound before the apps are restored, so
	// connections meanwhile wait in the kernel's queue.
	upg, err := tableflip.New(tableflip.Options{UpgradeTimeout: cfg.DeployTimeout + 30*time.Second})
	if err != nil {
		return fmt.Errorf("in-place upgrades: %w", err)
	}
	defer upg.Stop()
	if !upg.HasParent() {
		if pid := apps.ServingPID(cfg.DataDir); pid > 0 {
			return fmt.Errorf("another slipway (pid %d) serves the data dir %s: stop it first, or use another --data", pid, cfg.DataDir)
		}
	}
	passed, err := activation.Listeners([]string{"ssh", "http", "admin", "https", "registry"})
	if err != nil {
		return fmt.Errorf("socket activation: %w", err)
	}
	httpLn, err := listen(upg, passed, "http", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	adminInner, err := listen(upg, passed, "admin", cfg.AdminAddr)
	if err != nil {
		return err
	}
	adminLn := pausable.New(adminInner)
	// What this process leaves on the host (the admin socket's file, the
	// rule that keeps apps off) is removed at its stop unless it handed
	// over to a new process, or failed to start while taking over from
	// one, which still serves with them.
	served, handedOver := false, false
	leftToUs := func() bool { return !handedOver && (served || !upg.HasParent()) }
	// The local CLI's way in, which no TCP flood reaches: the same API on
	// DATA/run/admin.sock, for root and slipway's own user only.
	admins := []*pausable.Listener{adminLn} // paused while handing over
	var adminSock *pausable.Listener
	if path := layout.AdminSocket(); path != "" {
		ln, err := listenUnix(upg, path)
		if err != nil {
			return err
		}
		adminSock = pausable.New(ln)
		admins = append(admins, adminSock)
		defer func() {
			if leftToUs() {
				os.Remove(path)
			}
		}()
	}
	sshLn, err := listen(upg, passed, "ssh", cfg.SSHAddr)
	if err != nil {
		return err
	}
	var httpsLn net.Listener
	if cfg.HTTPSAddr != "" {
		if httpsLn, err = listen(upg, passed, "https", cfg.HTTPSAddr); err != nil {
			return err
		}
	}
	var registryLn net.Listener
	if cfg.RegistryAddr != "" {
		if registryLn, err = listen(upg, passed, "registry", cfg.RegistryAddr); err != nil {
			return err
		}
	}
	httpsAddr := ""
	if httpsLn != nil {
		httpsAddr = httpsLn.Addr().String()
	}
	public := certs.PublicDomain(cfg.Domain)
	tlsEdge, err := certs.New(certs.Config{
		Dir: layout.Certs(), Email: cfg.ACMEEmail, Directory: cfg.ACMEDirectory, CAFile: cfg.ACMECA,
		Owns:     func(name string) bool { return rt.OwnsExact(name, public) },
		HTTPAddr: httpLn.Addr().String(), HTTPSAddr: httpsAddr, OnResult: mets.Certificate, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer tlsEdge.Close()
	httpsSrv := httpserver.New("https", cfg.HTTPSAddr, rt, logger)
	httpsSrv.Listener, httpsSrv.TLSConfig = httpsLn, tlsEdge.TLSConfig()
	ids := apps.NewIdentities(cfg.DataDir, db, os.Geteuid() == 0, cfg.UIDBase, logger)
	if err := ids.SecureDataDir(); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := ids.ClaimUIDs(ctx, cfg.UIDRegistry, cfg.UIDBase); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		r := ids.UIDs()
		door := netfilter.Door{Chain: netfilter.ChainFor(cfg.DataDir), First: r.Base, Last: r.Last(), Ports: tcpPorts(sshLn, adminInner)}
		if ipv6, err := door.Shut(ctx); err != nil {
			logger.Warn("apps can connect to slipway's own ssh and admin listeners: the rule that keeps them off could not be made", "err", err)
		} else {
			logger.Info("apps kept off slipway's own listeners", "chain", door.Chain, "ports", door.Ports)
			if ipv6 != nil {
				logger.Warn("over IPv6, apps can connect to slipway's own ssh and admin listeners: ip6tables refused the rule", "err", ipv6)
			}
			defer func() {
				if leftToUs() {
					if err := door.Open(context.Background()); err != nil {
						logger.Error("remove the rule that kept apps off slipway's listeners", "err", err)
					}
				}
			}()
		}
	}
	if err := ids.PrepareLauncher(); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := ids.UseDisks(ctx, cfg.AppDisk); err != nil && cfg.AppDisk > 0 {
			logger.Warn("apps write on the data dir's filesystem, so one app can fill it for all: no disk of their own", "err", err)
		}
		defer func() { // after the apps stopped
			if leftToUs() {
				ids.UnmountDisks()
			}
		}()
	}
	isolation := ids.Describe()
	sandbox := ids.Sandbox
	var svc *apps.Service
	reg, err := openRegistry(ctx, cfg, layout, token, func() *apps.Service { return svc }, logger)
	if err != nil {
		return fmt.Errorf("image registry: %w", err)
	}
	defer reg.Close()
	buildReg, err := buildRegistry(reg, logger)
	if err != nil {
		return err
	}
	buildAddr := buildReg.Listener.Addr().String()
	hooks := webhooks.New(webhooks.Config{Store: db, Logger: logger})
	if err := hooks.Start(); err != nil {
		return err
	}
	defer hooks.Close() // at once on an early return; see webhooksDrain
	mets.WatchWebhookDrops(func() uint64 { return uint64(hooks.Dropped()) })
	var newRuntime func(releaser.Config) apps.Runtime
	edge := kw.pages(rt) // the router, and with a cluster every replica
	if kw != nil {
		newRuntime = kw.runtime(cfg, registryLn.Addr().String(), reg, func() *apps.Service { return svc }, token, key)
	}
	svc = apps.New(apps.Config{
		DataDir: cfg.DataDir, Store: db,
		Builder: builder.New(builder.Config{DataDir: cfg.DataDir, Timeout: cfg.BuildTimeout, Sandbox: sandbox,
			MaxTreeFiles: cfg.MaxTreeFiles, MaxTreeBytes: cfg.MaxTreeBytes, Logger: logger,
			Registries: func(app string) ([]builder.Registry, func()) { return svc.BuildRegistries(app, buildAddr) }}),
		Releaser: releaser.Config{
			Router: rt, DeployTimeout: cfg.DeployTimeout, SessionTTL: cfg.SessionTTL, DrainTimeout: cfg.DrainTimeout, MaxDraining: cfg.MaxDraining, DrainSleepAfter: sleepAfter(cfg.DrainSleepAfter),
			Strategy: cfg.DeployStrategy, OnRestart: mets.Restart, OnSleep: mets.Sleep, OnWake: mets.Wake, Sandbox: sandbox,
			AppLogs: appLogs,
		},
		NewRuntime: newRuntime,
		Registry:   reg, MaxImageSize: cfg.MaxImageSize, Stack: cfg.Stack, Webhooks: hooks,
		Identities: ids, Keys: gitserver.NewKeyFile(authorizedKeysPath(cfg, layout)), Hosts: edge, Pages: edge, Certs: certsOf(tlsEdge, httpsLn != nil), Drains: logDrains, DrainIDKey: drainIDKey, AccessLogs: rt, Handover: upg.HasParent(), Isolation: isolation, Domain: cfg.Domain, HTTPAddr: httpLn.Addr().String, SSHAddr: sshLn.Addr().String, OnDeploy: mets.Deploy, Logger: logger,
	})
	src.svc = svc
	mets.WatchServices(src.Services)
	if httpsLn != nil {
		src.certs = tlsEdge
		mets.WatchCertificates(src)
	}
	redirect := func(host string) bool {
		app, ok := rt.AppFor(host)
		return ok && svc.Redirects(app)
	}
	httpSrv := httpserver.New("http", cfg.HTTPAddr, tlsEdge.HTTPHandler(rt, redirect), logger)
	httpSrv.Listener = httpLn
	httpSrv.Lean = cfg.HTTPServer == "lean"
	httpsSrv.Lean = httpSrv.Lean
	mets.WatchProxyErrors(func() metrics.ProxyErrors {
		u := rt.UpstreamErrors()
		return metrics.ProxyErrors{UpstreamReset: u.Reset, UpstreamMalformed: u.Malformed, UnsolicitedResponse: u.Unsolicited,
			FramingRefused: httpSrv.FramingRefused() + httpsSrv.FramingRefused()}
	})
	for _, srv := range []*httpserver.Server{httpSrv, httpsSrv} {
		srv.MaxHeaderLine = cfg.MaxHeaderLine
		srv.SetMaxHeaderBytes(cfg.MaxHeaderBytes)
		srv.Limit, srv.BodyTimeout = caps.router, cfg.BodyTimeout
	}
	git := gitserver.New(gitserver.Config{
		Addr: cfg.SSHAddr, DataDir: cfg.DataDir, AuthorizedKeys: cfg.AuthorizedKeys, Deployer: svc,
		Commands: commands.Funcs(svc), Unknown: commands.Unknown, Listener: sshLn, Limits: caps.ssh, MaxPushSize: cfg.MaxPushSize, Logger: logger,
	})
	// The admin page's charts: sampled here, in memory, until the end.
	sampler := stats.New(stats.Config{Every: cfg.StatsEvery, Processes: src.Processes, Requests: statsRequests(mets)})
	sampler.Start()
	defer sampler.Close()
	up := &handover{upg: upg, svc: svc, git: git, admin: admins, data: cfg.DataDir, ctx: ctx, logger: logger,
		quiet: cfg.BuildTimeout + cfg.DeployTimeout + 30*time.Second}
	adminHandler := web.New(web.Config{
		Backend: svc, Token: token, Domain: cfg.Domain, Metrics: mets.Handler(), Logger: logger,
		Commands: func(ctx context.Context, name string, args []string, in io.Reader, out io.Writer) error {
			return commands.Run(ctx, svc, name, args, in, out)
		},
		Upgrade:  func(context.Context) (int, error) { return up.upgrade() },
		Sessions: db,
		Stats:    sampler,
	})
	adminSrv := httpserver.New("admin", cfg.AdminAddr, adminHandler, logger)
	adminSrv.Listener, adminSrv.Limit, adminSrv.BodyTimeout = adminLn, caps.admin, cfg.BodyTimeout
	servers := []*httpserver.Server{httpSrv, adminSrv, httpsSrv, buildReg}
	if registryLn != nil {
		regSrv := httpserver.New("registry", cfg.RegistryAddr, reg.Handler(), logger)
		regSrv.Listener, regSrv.BodyTimeout = registryLn, cfg.BodyTimeout
		regSrv.Limit = &httpserver.ConnLimit{Total: 256, PerNetwork: 64}
		if !onLoopback(registryLn.Addr()) { // tokens cross the network: TLS, with the router's certificates
			regSrv.TLSConfig = tlsEdge.TLSConfig()
		}
		servers = append(servers, regSrv)
	}
	if adminSock != nil {
		sockSrv := httpserver.New("admin socket", "", adminHandler, logger)
		sockSrv.Listener, sockSrv.BodyTimeout = httpserver.PeerUIDs(adminSock, 0, os.Geteuid()), cfg.BodyTimeout
		servers = append(servers, sockSrv)
	}
	jobs := cron.New()
	jobs.AddFunc(cfg.PruneSchedule, func() {
		if err := svc.Prune(context.Background(), cfg.KeepReleases, builder.Remove); err != nil {
			logger.Error("prune", "err", err)
		}
	})

	stopApps := func() error {
		actx, cancel := context.WithTimeout(context.Background(), svc.StopBound())
		defer cancel()
		return svc.Shutdown(actx)
	}
	// The apps first: the sockets queue connections until they serve.
	logDrains.Start()
	svc.Start(ctx)
	if kw != nil {
		kw.startRouter(rt, logger)
		defer kw.stopRouter()
	}
	stopAll := func() {
		for _, srv := range servers {
			srv.Shutdown(context.Background()) // nothing for one not started
		}
		stopApps()
		stopDrains()
	}
	for _, srv := range servers {
		if srv == httpsSrv && httpsLn == nil {
			continue
		}
		if err := srv.Start(); err != nil {
			stopAll()
			return err
		}
	}
	if err := git.Start(); err != nil {
		stopAll()
		return err
	}
	jobs.Start()
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := atomicfile.Write(layout.PIDFile(), pid, 0o644); err != nil {
		logger.Error("write the pid file", "err", err)
	}
	defer func() { // only while it still names this process
		if data, err := os.ReadFile(layout.PIDFile()); err == nil && string(data) == string(pid) {
			os.Remove(layout.PIDFile())
		}
	}()
	logger.Info("listening", "service", "ssh", "addr", git.Addr().String())
	if err := upg.Ready(); err != nil {
		logger.Error("tell the slipway that handed over that this one is ready", "err", err)
	}
	logger.Info("slipway ready", "data", cfg.DataDir, "domain", cfg.Domain)
	served = true

	hupDone := make(chan struct{})
	go func() { // SIGHUP: upgrade in place
		defer close(hupDone)
		for {
			select {
			case <-hup:
				if _, err := up.upgrade(); err != nil {
					logger.Error("SIGHUP upgrade", "err", slipway.ErrorMessage(err))
				}
			case <-upg.Exit():
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	select {
	case <-ctx.Done():
		upg.Stop()
	case <-upg.Exit():
		handedOver = true
	}
	<-hupDone
	if handedOver {
		logger.Info("handed over to the new slipway process: finishing what is in flight; the apps keep running", "timeout", shutdownTimeout.String())
	} else {
		logger.Info("shutting down", "timeout", shutdownTimeout.String())
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 1+len(servers))
	wg.Go(func() { errs[0] = git.Shutdown(sctx) })
	for i, srv := range servers {
		if handedOver { // the new process serves the same sockets
			wg.Go(func() { errs[i+1] = srv.Drain(sctx, drainWindow) })
		} else {
			wg.Go(func() { errs[i+1] = srv.Shutdown(sctx) })
		}
	}
	wg.Wait()
	// The servers have stopped calling the router: its last access lines
	// are written now.
	if aerr := access.Shutdown(sctx); aerr != nil {
		logger.Warn("the last access lines were not all written", "err", aerr)
	}
	select { // a prune in progress finishes first
	case <-jobs.Stop().Done():
	case <-sctx.Done():
	}
	// The webhooks last: the deploys and rollbacks that ended above told
	// them of their outcome.
	hctx, hcancel := context.WithTimeout(context.Background(), webhooksDrain)
	if herr := hooks.Shutdown(hctx); herr != nil {
		logger.Warn("webhook deliveries still in flight were cut short by the stop", "after", webhooksDrain.String())
	}
	hcancel()
	err = errors.Join(errs...)
	if handedOver {
		svc.Abandon()
		stopDrains() // the new process sends the lines written from now on
		logger.Info("stopped; the apps run on under the new slipway process")
		return err
	}
	// Apps stop last, with their own bound: the router has stopped
	// sending them requests, and no instance outlives a clean stop.
	if aerr := stopApps(); aerr != nil {
		err = errors.Join(err, fmt.Errorf("stopping the apps took longer than %s", svc.StopBound()))
	}
	stopDrains() // after the apps: their last lines go too
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown took longer than %s: what was still running was cancelled", shutdownTimeout)
	}
	logger.Info("stopped")
	return err
}

// sleepAfter is --drain-sleep-after as the releaser takes it: 0, never,
// is negative there.
func sleepAfter(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
