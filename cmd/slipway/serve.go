package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/apps"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/commands"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/internal/activation"
	"github.com/slipway/slipway/internal/atomicfile"
	"github.com/slipway/slipway/internal/httpserver"
	"github.com/slipway/slipway/internal/secret"
	"github.com/slipway/slipway/metrics"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/router"
	"github.com/slipway/slipway/sqlite"
	"github.com/slipway/slipway/web"
)

// shutdownTimeout bounds a clean stop after SIGINT or SIGTERM: deploys in
// flight get this long to finish, then everything is closed.
const shutdownTimeout = 20 * time.Second

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
	layout := slipway.Layout{Root: cfg.DataDir}
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
	src := &poolSource{}
	mets := metrics.New(src)
	rt := router.New(router.Config{Domain: cfg.Domain, AffinityKey: key, SessionTTL: cfg.SessionTTL, Observe: mets.Upstream, Logger: logger})
	defer rt.Close()
	// Sockets a service manager passed (systemd's slipway.socket) are
	// served instead of listening: ssh, http, admin, in that order unless
	// LISTEN_FDNAMES names them.
	passed, err := activation.Listeners([]string{"ssh", "http", "admin"})
	if err != nil {
		return fmt.Errorf("socket activation: %w", err)
	}
	httpSrv := httpserver.New("http", cfg.HTTPAddr, rt, logger)
	httpSrv.Listener = passed["http"]
	if pid := apps.ServingPID(cfg.DataDir); pid > 0 {
		return fmt.Errorf("another slipway (pid %d) serves the data dir %s: stop it first, or use another --data", pid, cfg.DataDir)
	}
	ids := apps.NewIdentities(cfg.DataDir, db, os.Geteuid() == 0, cfg.UIDBase, logger)
	if err := ids.SecureDataDir(); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := ids.PrepareLauncher(); err != nil {
		return err
	}
	isolation := ids.Describe()
	sandbox := ids.Sandbox
	svc := apps.New(apps.Config{
		DataDir: cfg.DataDir, Store: db,
		Builder: builder.New(builder.Config{DataDir: cfg.DataDir, Timeout: cfg.BuildTimeout, Sandbox: sandbox, Logger: logger}),
		Releaser: releaser.Config{
			Router: rt, DeployTimeout: cfg.DeployTimeout, SessionTTL: cfg.SessionTTL, DrainTimeout: cfg.DrainTimeout,
			Strategy: cfg.DeployStrategy, OnRestart: mets.Restart, Sandbox: sandbox,
		},
		Identities: ids, Isolation: isolation, Domain: cfg.Domain, HTTPAddr: httpSrv.Addr, OnDeploy: mets.Deploy, Logger: logger,
	})
	src.svc = svc
	adminSrv := httpserver.New("admin", cfg.AdminAddr, web.New(web.Config{
		Backend: svc, Token: token, Domain: cfg.Domain, Metrics: mets.Handler(), Logger: logger,
		Commands: func(ctx context.Context, name string, args []string, out io.Writer) error {
			return commands.Run(ctx, svc, name, args, out)
		},
	}), logger)
	adminSrv.Listener = passed["admin"]
	git := gitserver.New(gitserver.Config{
		Addr: cfg.SSHAddr, DataDir: cfg.DataDir, AuthorizedKeys: cfg.AuthorizedKeys, Deployer: svc,
		Commands: commands.Funcs(svc), Listener: passed["ssh"], Logger: logger,
	})
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
	if err := httpSrv.Start(); err != nil {
		return err
	}
	if err := adminSrv.Start(); err != nil {
		httpSrv.Shutdown(context.Background())
		return err
	}
	svc.Start(ctx)
	if err := git.Start(); err != nil {
		httpSrv.Shutdown(context.Background())
		adminSrv.Shutdown(context.Background())
		stopApps()
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
	logger.Info("slipway ready", "data", cfg.DataDir, "domain", cfg.Domain)

	<-ctx.Done()
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Go(func() { errs[0] = git.Shutdown(sctx) })
	wg.Go(func() { errs[1] = httpSrv.Shutdown(sctx) })
	wg.Go(func() { errs[2] = adminSrv.Shutdown(sctx) })
	wg.Wait()
	select { // a prune in progress finishes first
	case <-jobs.Stop().Done():
	case <-sctx.Done():
	}
	err = errors.Join(errs...)
	// Apps stop last, with their own bound: the router has stopped
	// sending them requests, and no instance outlives a clean stop.
	if aerr := stopApps(); aerr != nil {
		err = errors.Join(err, fmt.Errorf("stopping the apps took longer than %s", svc.StopBound()))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown took longer than %s: what was still running was cancelled", shutdownTimeout)
	}
	logger.Info("stopped")
	return err
}

// poolSource reports the apps' pools to the metrics at scrape time.
type poolSource struct{ svc *apps.Service }

func (s *poolSource) Pools() []metrics.AppPools {
	var out []metrics.AppPools
	for _, a := range s.svc.Running() {
		p := metrics.AppPools{App: a.Name, Draining: len(a.Draining), LiveInstances: a.Instances, DrainingInstances: a.DrainingInstances}
		if a.Live > 0 {
			p.Live = 1
		}
		out = append(out, p)
	}
	return out
}

// adminToken returns the admin token: the configured one, else the one
// kept in DATA/admin_token, else a new one, stored there and printed once
// in the log.
func adminToken(cfg serveConfig, layout slipway.Layout, logger *slog.Logger) (string, error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	if cfg.AdminTokenFile != "" {
		data, err := os.ReadFile(cfg.AdminTokenFile)
		if err != nil {
			return "", fmt.Errorf("--admin-token-file: %w", err)
		}
		if token := strings.TrimSpace(string(data)); token != "" {
			return token, nil
		}
		return "", fmt.Errorf("--admin-token-file %s is empty: put the token in it", cfg.AdminTokenFile)
	}
	token, created, err := secret.Token(layout.AdminToken())
	if created {
		logger.Info("admin token generated: log in to the admin page with it", "token", token, "stored_in", layout.AdminToken())
	}
	return token, err
}
