// Package services runs backing services' servers: PostgreSQL and Redis
// from the binaries the host's distribution installed, one server process
// per service. It is the process layer's second kind of long-running
// process beside an app's instances: each server starts through the
// supervisor (its own user, Landlock sandbox, cgroup and limits, its own
// log file), is kept running by it with backoff, is adopted by a later
// slipway after a restart, an upgrade or a crash, and is stopped the way
// its server wants to be (PostgreSQL's fast shutdown on SIGINT, Redis's
// save on SIGTERM). It also knows each server's tools: initialising a data
// dir, telling when the server accepts its password, dumps, backups and
// their checks, restores and the interactive client.
//
// It knows nothing of apps, links or the history: the application layer
// (package apps) owns the use cases and records what this package reports.
//
// Imports: slipway, supervisor, internal/*.
package services
