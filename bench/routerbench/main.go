// Command routerbench serves slipway's real router the way `slipway serve`
// does (an http.Server with the same timeouts and the router as its
// Handler), with one app, "bench", whose live pool is the -backend
// addresses. bench/router-vs-nginx.sh runs it next to nginx.
//
// It prints the bound address as the first line of stdout and stops cleanly
// on SIGINT or SIGTERM, writing the -cpuprofile (if any) on the way out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway/slipway/router"
)

// appName is the app the benchmark routes to: Host bench.<domain>.
const appName = "bench"

type config struct {
	addr       string
	domain     string
	backends   []string
	cpuprofile string
}

func main() {
	var cfg config
	var backends string
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:0", "address to serve the router on; port 0 picks a free port")
	flag.StringVar(&cfg.domain, "domain", "localhost", "router domain: app "+appName+" is served for Host "+appName+".DOMAIN")
	flag.StringVar(&backends, "backend", "", "comma- or space-separated host:port of the app's instances (required)")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	cfg.backends = strings.FieldsFunc(backends, func(r rune) bool { return r == ',' || r == ' ' })
	if len(cfg.backends) == 0 {
		fmt.Fprintln(os.Stderr, "routerbench: -backend is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "routerbench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	// As in cmd/slipway/serve.go: a text logger on stderr, the router as the
	// server's Handler, the same server timeouts.
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	rt := router.New(router.Config{Domain: cfg.domain, Logger: logger})
	insts := make([]*router.Instance, len(cfg.backends))
	for i, addr := range cfg.backends {
		insts[i] = &router.Instance{ID: "web." + strconv.Itoa(i+1), Addr: addr}
	}
	rt.SetLive(&router.Pool{App: appName, Release: "v1", Instances: insts})

	srv := &http.Server{
		Handler:           rt,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
