// Package e2e tests slipway from outside, as a user meets it: it builds
// the binary once, starts `slipway serve` on 127.0.0.1 port 0 with a
// temp data dir, and drives the real git and ssh clients, curl-like HTTP
// clients and headless Chromium against it. It holds tests only.
//
// Imports: *.
package e2e
