// Package webhooks delivers the apps' deploy webhooks. A Notifier takes
// the application layer's events (Notify never blocks its caller: a
// bounded queue, whose overflow is dropped and counted), finds the app's
// webhooks that asked for the event's kind, and POSTs the event's JSON to
// each, signed as GitHub signs its own (X-Hub-Signature-256), retried
// with backoff, each delivery recorded in the store for `webhooks NAME`.
// Redirects are not followed, and link-local and cloud metadata addresses
// never reached, directly or through a proxy (guard.go); secrets and
// URLs' paths never reach the log.
//
// Imports: slipway.
package webhooks
