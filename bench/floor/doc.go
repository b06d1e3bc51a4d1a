// Command floor is the least a Go proxy with a goroutine per connection
// can do for the benchmark's requests, for bench/slipway-vs-nginx.sh's
// floor suite to set beside nginx: what is left between it and nginx is
// the cost of Go's runtime and network poller, not of slipway's HTTP
// handling.
//
//	floor -upstreams 127.0.0.1:8001,127.0.0.1:8002
//
// It prints the address it listens on (127.0.0.1, a free port). Each client
// connection has its goroutine and a connection to each upstream, and its
// requests go to the upstreams in turn, as nginx's round robin over
// keep-alive connections. A request is its head only (GET, no body) and
// goes to the upstream as it came; the response must have a Content-Length
// and comes back as it came, head and body in one write. No headers are
// parsed beyond that, none added, nothing allocated a request. It is not
// a proxy for anything else: a request with a body, a chunked response or
// anything it does not expect closes the connection.
//
// Imports: none.
package main
