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
//
// With --mode sleep it times instead the wake of sleeping draining pools:
// sessions pinned to each of several releases of a Python http.server app
// come back, again and again, after every pool has slept, and each
// session's first request waits for its pool's wake. It exits with 0 when
// no request failed, no session got another release than its own, every
// pool slept and woke each time, and the wake's p50 and p99 are within
// 300 ms and 1 s.
//
//	go run ./cmd/slipway-load --mode sleep [flags]
//
// Imports: appdisk, internal/*.
package main
