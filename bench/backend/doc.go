// Command backend is the tiny app the benchmarks put behind both slipway
// and nginx: it answers every request with a fixed 12-byte body over
// keep-alive connections, so that the proxies, not the app, decide the
// numbers.
//
// It listens on -n addresses (each -addr, port 0 picks a free one) in one
// process and prints them, space-separated, as the first line of stdout.
// Deployed to slipway (bench/slipway-vs-nginx.sh) it is one instance on
// 127.0.0.1:$PORT. It stops on SIGINT or SIGTERM.
//
// Imports: none.
package main
