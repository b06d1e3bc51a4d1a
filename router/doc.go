// Package router is slipway's HTTP front door: it sends each request whose
// Host is NAME.<domain> to a release of app NAME, either by proxying to one
// of the release's running instances or, for a static release, by serving
// its files itself.
//
// Each client's session is pinned to one release and instance by a signed
// affinity cookie, so that a client's related requests never land on
// different versions. The releaser makes a new release live with SetLive;
// the pool it replaces keeps serving the sessions pinned to it (it is
// draining) until the releaser, seeing it idle, takes it out with Retire,
// waits with WaitIdle for its last requests and stops its processes.
//
// The path: ServeHTTP, or ServeSimple for a plain GET the lean server parsed
// in place, routes a request by Host and cookie to proxy (proxy.go), which
// every proxied request takes: send, retry, then tunnel (101) or relay.
// With an AccessLog, each request of an app leaves a line in the app's
// log (accesslog.go): the request path hands a fixed record to a bounded
// queue and never waits; the AccessLog's goroutine formats and writes.
//
// Imports: slipway, internal/*.
package router
