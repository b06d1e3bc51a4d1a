//go:build !linux

package router

import "net"

// peerClosed reports false: only Linux builds peek at idle connections.
// Elsewhere a non-idempotent request may go out on a connection the
// instance has closed while it was idle, and fail.
func peerClosed(net.Conn) bool { return false }
