// Package drains sends the apps' logs on to their log drains (Heroku's
// drains:add): syslog receivers over TCP (syslog://) or TLS
// (syslog+tls://), each line one RFC 5424 message in RFC 6587's
// octet-counted framing, and HTTPS endpoints (https://), lines batched
// into POSTs of Heroku's logplex format.
//
// Its Manager is the apps' log sink (supervisor.LogSink): it hears every
// line written to an app's log, the processes' output and the router's
// access lines, and copies it into a bounded buffer of each of the app's
// drains without ever waiting; a full buffer drops the line and counts
// it. One goroutine per drain delivers, reconnecting and retrying with
// capped exponential backoff, so a drain that is down slows neither the
// app, the router nor the other drains. Which drains an app has is the
// application layer's (package apps), which stores them and calls Set.
//
// Imports: slipway.
package drains
