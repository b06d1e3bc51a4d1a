// Package releaser runs releases: it starts a release's web pool, health
// checks every instance, switches the router to the new pool in one atomic
// step, keeps the old pool serving the sessions pinned to it until they go
// idle, and supervises every instance.
//
// Imports: slipway, router, supervisor, internal/*.
package releaser
