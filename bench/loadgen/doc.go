// Command loadgen is the part of bench/slipway-vs-nginx.sh that wrk does
// not do: an open-loop load at a fixed rate (latency counted from when each
// request was due, so a stalled proxy cannot hide its queue), and many idle
// keep-alive connections held open.
//
//	loadgen openloop -url http://127.0.0.1:8080/ -host app.test -rate 10000 -duration 10s
//	loadgen openloop -url http://127.0.0.1:8080/ -versus http://127.0.0.1:8081/ -host app.test -rate 5000
//	loadgen idle -url http://127.0.0.1:8080/ -host app.test -conns 10000
//
// openloop prints "SENT ERRORS P50_MS P99_MS P999_MS", and with -versus the
// same five for the second URL after them on the line (each URL loaded at
// -rate for -duration, the two in turn, -slice at a time). idle opens the
// connections, makes one request on each, prints "ready N" once all are
// open and idle, holds them until its standard input is closed, and exits.
//
// Imports: none.
package main
