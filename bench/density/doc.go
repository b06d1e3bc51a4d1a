// Command density measures what slipway costs as the number of apps on one
// host grows. For each N it starts a fresh `slipway serve` as root on
// 127.0.0.1 (each app gets its own user and cgroup, as on a real host;
// --app-disk 0, so no app gets a 1G disk image of its own), pushes N small
// Procfile apps of one instance each over ssh (the last one alone, timed
// from git push until the release answers through the router), and
// measures:
//
//   - slipway's own RSS (VmRSS) and CPU (utime+stime over -idle) at idle;
//   - the apps' memory: the PSS of the processes in the data dir's cgroups,
//     divided by N;
//   - the time to push the Nth app;
//   - apps:list through the local CLI (the admin socket) and over ssh;
//   - router p99 at a fixed total rate spread over all N apps, open loop,
//     interleaved slice by slice with the same load on a second slipway
//     serving one app, so that both see the same machine;
//   - upgrade: SIGHUP (slipway re-executes itself and hands over) until
//     the new process is ready and every app answers on new connections;
//   - restart adoption: kill -9 of slipway, a new `slipway serve` on the
//     same data dir and addresses, until every app answers through the
//     router again, and whether every app process kept its pid (for both,
//     the "release live again" lines of slipway's log count what it
//     adopted);
//   - slipway at idle again, after adopting every app.
//
// After each N it stops slipway with SIGTERM (by its pid), checks that no
// process, cgroup or iptables chain of that data dir is left, removes the
// apps' users (those whose HOME is in the data dir) and prints a table:
//
//	go run ./bench/density                # N = 10, 50, 100
//	go run ./bench/density -n 100 -rate 500 -duration 10s -rounds 3
//
// It must run as root. Everything talks to 127.0.0.1 only; git, ssh and
// slipway get a private HOME in the work directory, which is removed at
// the end (-keep keeps it).
//
// Imports: none.
package main
