// Package registry is slipway's own OCI registry: the distribution API
// under /v2/, served by distribution/distribution's handlers on its
// filesystem storage driver (DATA/registry), for the releases' images and
// the operator's imported ones.
//
// It owns who may do what (every request carries HTTP Basic credentials
// that Config.Check turns into an Access: Pull or Push), the bounds on
// what is pushed (MaxImageSize for a blob and for an image), an in-process
// transport for slipway's own pushes and pulls, the listing used by
// images:list, untagging and garbage collection. Distribution is
// configured without redis, notifications, tracing export, a pull-through
// proxy or redirects, and its logs go to slog at debug level (logrus's
// standard logger is silenced for the whole process: see logs.go).
//
// GC holds a lock that makes writes (any request but GET and HEAD, and
// Delete) wait while it runs, rather than fail with 503: a collection on
// the filesystem takes seconds, and docker and go-containerregistry give
// up on a 503 after a few tries. What was written within Config.GCGrace
// is kept, since a push spans requests and its manifest comes last.
//
// It knows nothing of apps, releases or tokens: the caller decides what a
// credential grants and which tags to delete.
//
// Imports: none (of slipway's; distribution/distribution v3 as a library).
package registry
