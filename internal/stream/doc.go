// Package stream is the one protocol slipway uses where a long-running
// action answers over HTTP: its output is streamed as it happens (each
// write flushed at once) and its verdict follows in the trailers, exit
// status and, on failure, the one-line error. The pre-receive hook and the
// local `slipway COMMAND` read it.
//
// Imports: internal/*.
package stream
