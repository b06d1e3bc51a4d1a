// Package stats samples what the admin page's charts draw: every 10
// seconds, per app, the requests the router proxied by status class, their
// p50 and p95 upstream latency, and per process type the memory and CPU
// its instances used, read from their cgroups (or /proc). It keeps the
// last hour in a fixed ring per app, in slipway's own memory: no outside
// service, nothing on disk, nothing after a restart. /metrics, for
// Prometheus, is package metrics' and apart from it.
//
// It reads through the functions its Config is given (cmd/slipway hands
// it the metrics' counters and the runtime's processes) and gives the web
// package the domain's slipway.AppStats.
//
// Imports: slipway, internal/*.
package stats
