package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/internal/atomicfile"
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

// serve starts every part of slipway, waits for ctx to end and shuts them
// down under one timeout: servers in parallel, then the cron jobs, the apps,
// and the database last.
func serve(ctx context.Context, cfg serveConfig, logger *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	db := sqlite.NewDB(filepath.Join(cfg.DataDir, "slipway.db"))
	if err := db.Open(); err != nil {
		return fmt.Errorf("open the history database: %w", err)
	}
	defer db.Close()
	key, err := secretKey(filepath.Join(cfg.DataDir, "affinity.key"))
	if err != nil {
		return fmt.Errorf("affinity key: %w", err)
	}
	token, err := adminToken(cfg, logger)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	src := &poolSource{}
	mets := metrics.New(src)
	rt := router.New(router.Config{Domain: cfg.Domain, AffinityKey: key, SessionTTL: cfg.SessionTTL, Observe: mets.Upstream, Logger: logger})
	defer rt.Close()
	rel := releaser.New(releaser.Config{
		DataDir: cfg.DataDir, Router: rt, Store: db, DeployTimeout: cfg.DeployTimeout,
		SessionTTL: cfg.SessionTTL, DrainTimeout: cfg.DrainTimeout, Strategy: cfg.DeployStrategy,
		OnRestart: mets.Restart, Logger: logger,
	})
	src.rel = rel
	bld := builder.New(builder.Config{DataDir: cfg.DataDir, Timeout: cfg.BuildTimeout, Logger: logger})

	httpSrv := newHTTPServer("http", cfg.HTTPAddr, rt, logger)
	dep := &deployer{builder: bld, releaser: rel, store: db, dataDir: cfg.DataDir, domain: cfg.Domain, httpAddr: httpSrv.addr, metrics: mets, logger: logger}
	be := &backend{store: db, releaser: rel, dataDir: cfg.DataDir, appURL: dep.appURL}
	cmds := commands(rel, be, func(app string) string { return slipway.Layout{Root: cfg.DataDir}.Repo(app) })
	adminSrv := newHTTPServer("admin", cfg.AdminAddr, web.New(web.Config{
		Backend: be, Token: token, Domain: cfg.Domain, Metrics: mets.Handler(), Logger: logger,
		Commands: func(ctx context.Context, name string, args []string, out io.Writer) error {
			run, ok := cmds[name]
			if !ok {
				return slipway.Errorf(slipway.ENOTFOUND, "unknown command %q: see slipway help", name)
			}
			return run(ctx, args, out)
		},
	}), logger)
	git := gitserver.New(gitserver.Config{
		Addr: cfg.SSHAddr, DataDir: cfg.DataDir, AuthorizedKeys: cfg.AuthorizedKeys, Deployer: dep,
		Commands: cmds, Logger: logger,
	})
	jobs := cron.New()
	jobs.AddFunc(cfg.PruneSchedule, func() {
		if err := rel.Prune(context.Background(), cfg.KeepReleases, builder.Remove); err != nil {
			logger.Error("prune", "err", err)
		}
	})

	if err := httpSrv.start(); err != nil {
		return err
	}
	if err := adminSrv.start(); err != nil {
		httpSrv.shutdown(context.Background())
		return err
	}
	rel.Restore(ctx)
	if err := git.Start(); err != nil {
		httpSrv.shutdown(context.Background())
		adminSrv.shutdown(context.Background())
		rel.Shutdown(context.Background())
		return err
	}
	jobs.Start()
	logger.Info("listening", "service", "ssh", "addr", git.Addr().String())
	logger.Info("slipway ready", "data", cfg.DataDir, "domain", cfg.Domain)

	<-ctx.Done()
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Go(func() { errs[0] = git.Shutdown(sctx) })
	wg.Go(func() { errs[1] = httpSrv.shutdown(sctx) })
	wg.Go(func() { errs[2] = adminSrv.shutdown(sctx) })
	wg.Wait()
	select { // a prune in progress finishes first
	case <-jobs.Stop().Done():
	case <-sctx.Done():
	}
	// Apps stop last: the router has stopped sending them requests.
	err = errors.Join(append(errs, rel.Shutdown(sctx))...)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown took longer than %s: what was still running was cancelled", shutdownTimeout)
	}
	logger.Info("stopped")
	return err
}

// adminToken returns the admin token: the configured one, else the one kept
// in DATA/admin_token, else a new one, stored there (mode 0600) and printed
// once in the log.
func adminToken(cfg serveConfig, logger *slog.Logger) (string, error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	path := filepath.Join(cfg.DataDir, "admin_token")
	data, err := os.ReadFile(path)
	if err == nil && len(bytes.TrimSpace(data)) > 0 {
		return string(bytes.TrimSpace(data)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	if err := atomicfile.Write(path, []byte(token+"\n"), 0o600); err != nil {
		return "", err
	}
	logger.Info("admin token generated: log in to the admin page with it", "token", token, "stored_in", path)
	return token, nil
}

// httpServer is an http.Server with slipway's lifecycle: start listens and
// serves in the background, shutdown waits for requests to finish.
type httpServer struct {
	name   string
	srv    *http.Server
	logger *slog.Logger
	ln     net.Listener
	done   chan struct{}
}

func newHTTPServer(name, addr string, h http.Handler, logger *slog.Logger) *httpServer {
	return &httpServer{
		name:   name,
		logger: logger,
		srv: &http.Server{
			Addr:              addr,
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		},
	}
}

func (s *httpServer) start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("%s listen: %w", s.name, err)
	}
	s.ln = ln
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("server stopped", "service", s.name, "err", err)
		}
	}()
	s.logger.Info("listening", "service", s.name, "addr", ln.Addr().String())
	return nil
}

// addr returns the bound address, or the configured one before start.
func (s *httpServer) addr() string {
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.srv.Addr
}

func (s *httpServer) shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}

// secretKey reads a 32-byte key from path, creating it (mode 0600) on first
// start, so that affinity cookies survive a restart.
func secretKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil && len(key) == 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, atomicfile.Write(path, key, 0o600)
}

// poolSource reports the releaser's pools to the metrics at scrape time.
type poolSource struct{ rel *releaser.Releaser }

func (s *poolSource) Pools() []metrics.AppPools {
	var out []metrics.AppPools
	for _, a := range s.rel.Apps() {
		p := metrics.AppPools{App: a.Name, Draining: len(a.Draining), LiveInstances: a.Instances, DrainingInstances: a.DrainingInstances}
		if a.Live > 0 {
			p.Live = 1
		}
		out = append(out, p)
	}
	return out
}
