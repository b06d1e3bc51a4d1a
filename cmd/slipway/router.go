package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/slipway/slipway/internal/httpserver"
	"github.com/slipway/slipway/kube"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/router"
)

// routerConfig is `slipway router`'s configuration: a router replica of
// the apps slipway runs on Kubernetes.
type routerConfig struct {
	Kubeconfig string // "" for the in-cluster configuration
	Namespace  string
	HTTPAddr   string
	Replica    string
	Domain     string
	SessionTTL time.Duration
	LogFormat  string
}

// parseRouterFlags fills a routerConfig from args; getenv gives the
// defaults that come from the environment (KUBECONFIG, POD_NAME).
func parseRouterFlags(args []string, getenv func(string) string, stderr io.Writer) (routerConfig, error) {
	c := routerConfig{SessionTTL: releaser.DefaultSessionTTL}
	fs := flag.NewFlagSet("slipway router", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a bad flag is one line, said by the caller
	replica := getenv("POD_NAME")
	if replica == "" {
		replica, _ = os.Hostname()
	}
	fs.StringVar(&c.Kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig file of the cluster; the in-cluster configuration when empty")
	fs.StringVar(&c.Namespace, "namespace", kube.DefaultNamespace, "namespace of slipway's objects")
	fs.StringVar(&c.HTTPAddr, "http", DefaultHTTPAddr, "address the router serves the apps on")
	fs.StringVar(&c.Replica, "replica", replica, "this replica's name, unique among the replicas (its Lease is slipway-router-NAME); default $POD_NAME, else the host name")
	fs.StringVar(&c.Domain, "domain", DefaultDomain, "app NAME is served for Host NAME.DOMAIN, as by slipway serve")
	fs.Func("session-ttl", fmt.Sprintf("how long a session stays pinned without a request, as slipway serve's --session-ttl (default %s)", c.SessionTTL), func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return errors.New("want a duration such as 30m")
		}
		c.SessionTTL = d
		return nil
	})
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stderr, "Usage: slipway router [flags]: a router replica of the apps slipway runs on Kubernetes")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return c, err
	case err != nil:
		return c, err
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q: slipway router takes only flags", fs.Arg(0))
	case c.Replica == "":
		return c, fmt.Errorf("--replica: give this replica a name (no $POD_NAME nor host name)")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return c, fmt.Errorf("--log-format %q: use text or json", c.LogFormat)
	}
	return c, nil
}

func runRouter(ctx context.Context, args []string) int {
	cfg, err := parseRouterFlags(args, os.Getenv, os.Stderr)
	return runFlagged("router", err, cfg.LogFormat, func(logger *slog.Logger) error { return serveRouter(ctx, cfg, logger) })
}

// runFlagged runs a long-running subcommand whose flags were parsed with
// parseErr, and returns its exit status: 0 for --help or a clean stop, 2
// for bad flags (one line), 1 when run fails.
func runFlagged(name string, parseErr error, logFormat string, run func(*slog.Logger) error) int {
	if errors.Is(parseErr, flag.ErrHelp) {
		return 0
	}
	if parseErr != nil {
		fmt.Fprintf(os.Stderr, "slipway %s: %v\n", name, parseErr)
		return 2
	}
	logger := newLogger(logFormat)
	if err := run(logger); err != nil {
		logger.Error("slipway "+name+" stopped", "err", err)
		fmt.Fprintf(os.Stderr, "slipway %s: %v\n", name, err)
		return 1
	}
	return 0
}

// serveRouter runs a router replica until ctx ends: it reads the
// affinity key, builds its pools from the cluster, then serves; at the
// end it stops serving first (its Lease reports what it serves until
// then) and deletes its Lease last.
func serveRouter(ctx context.Context, cfg routerConfig, logger *slog.Logger) error {
	client, err := kubeClient(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	key, err := affinityKey(ctx, client, cfg.Namespace, logger)
	if ctx.Err() != nil {
		return nil // stopped while it waited
	}
	if err != nil {
		return err
	}
	// No AccessLog: a replica has no app logs to write to (the apps'
	// logs are slipway serve's), so it writes no access lines.
	rt := router.New(router.Config{Domain: cfg.Domain, AffinityKey: key, SessionTTL: cfg.SessionTTL, Logger: logger})
	defer rt.Close()
	w := kube.NewWatcher(kube.WatcherConfig{Client: client, Namespace: cfg.Namespace, Replica: cfg.Replica, Router: rt, Logger: logger})
	wctx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	watched := make(chan error, 1)
	go func() { watched <- w.Run(wctx) }()
	select { // a replica that takes requests before it has the pools answers 404
	case <-w.Synced():
	case <-ctx.Done():
		stopWatching()
		return <-watched
	}
	srv := httpserver.New("http", cfg.HTTPAddr, rt, logger)
	srv.Lean = true
	// No cap per address: behind a load balancer all clients may have its.
	srv.Limit, srv.BodyTimeout = &httpserver.ConnLimit{Total: max(fileLimit()*3/4, 16)}, 60*time.Second
	if err := srv.Start(); err != nil {
		stopWatching()
		return errors.Join(err, <-watched)
	}
	logger.Info("router replica ready", "replica", cfg.Replica, "namespace", cfg.Namespace, "domain", cfg.Domain)
	<-ctx.Done()
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopWatching()
	return errors.Join(err, <-watched)
}

// affinityKey reads the cookies' key from the cluster, saying so when it
// has to wait for the control plane to make it.
func affinityKey(ctx context.Context, client *kube.Client, ns string, logger *slog.Logger) ([]byte, error) {
	quick, cancel := context.WithTimeout(ctx, 2*time.Second)
	key, err := kube.AffinityKey(quick, client, ns)
	cancel()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return key, err
	}
	logger.Info("waiting for the affinity key: slipway serve --scheduler kubernetes makes it", "secret", ns+"/"+kube.RouterSecret)
	return kube.AffinityKey(ctx, client, ns)
}
