// Package activation takes the listening sockets a service manager passed
// to slipway (systemd's socket activation: LISTEN_PID, LISTEN_FDS and
// LISTEN_FDNAMES, descriptors from 3 on), so that connections wait in the
// kernel's queue while slipway restarts instead of being refused.
//
// Imports: internal/*.
package activation
