// Package metrics exposes slipway's own metrics in the Prometheus text
// format (client_golang): requests and upstream latency by app from the
// router, pools and instances per app, deploys by result, build duration,
// instance restarts, and the backing services' state, size and last
// backup.
//
// Imports: slipway, internal/*.
package metrics
