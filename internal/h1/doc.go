// Package h1 serves an http.Handler over HTTP/1.x with less work a
// request and less memory an idle connection than net/http's server, for
// the router's listeners.
//
// It parses requests with net/http's own request parser (the one
// http.Server uses, reached by its documented linkname) and checks them as
// http.Server does (Host, header names and values, protocol version,
// Expect), so that what reaches a handler is what net/http would hand it;
// the differential test in this package holds it to that. What it does
// not do, and why it is cheaper:
//
//   - no background read per request: http.Server starts a goroutine for
//     every request to notice a client that goes away, which costs a
//     goroutine, a read that finds nothing and a hand-over between threads
//     each time. Here a request that is still running after
//     disconnectWatchAfter gets that watch; a quick one never does.
//   - no buffers or goroutine while idle: a busy connection (its next
//     request within handOverAfter) waits in its read buffer, so a request
//     takes one read; after that, and after its first request, it hands
//     the wait to a new goroutine (the stack a request grew goes back),
//     and it is parked in an epoll set with no goroutine at all
//     (park_linux.go), over TLS once a read that timed out has shown that
//     the tls.Conn holds nothing of a next request; buffers come from pools
//     for each request (net/http keeps 8 KB of them and a goroutine for
//     every connection).
//
// Over TLS (a listener of *tls.Conn, possibly wrapped), it does the
// handshake itself and hands a connection that negotiated another
// protocol (h2) to TLSNextProto, as http.Server does.
//
// The package owns the HTTP/1.x wire of those listeners: accepting
// connections and parking the idle ones, reading and checking requests,
// writing responses (an http.ResponseWriter, or an Exchange for a
// SimpleHandler), hijacking and shutdown. Of slipway's packages it imports
// only internal/httphead; beyond the standard library, golang.org/x/net's
// httpguts and, for parking, golang.org/x/sys/unix. Nothing here knows of
// apps or routes.
//
// Imports: internal/*.
package h1
