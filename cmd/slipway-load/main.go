// Command slipway-load measures what a redeploy costs the clients of a busy
// app: it starts `slipway serve`, deploys a small app with several
// instances, drives it with many cookie-keeping sessions at a steady rate,
// redeploys it again and again, and reports failed requests, sessions that
// saw two releases, and latency during the switches against steady state.
// By default it does this for slipway's blue-green deploy and for a naive
// stop-then-start deploy, and prints the two side by side.
//
//	go run ./cmd/slipway-load [flags]
//
// It exits with status 0 when blue-green meets its targets (no failed
// request, no flipped session, p99 during switches at most twice the steady
// p99), 1 when it does not, and 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "slipway-load: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, cfg, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "slipway-load: %v\n", err)
		os.Exit(1)
	}
	if !rep.pass() {
		os.Exit(1)
	}
}
