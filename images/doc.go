// Package images makes, reads, imports, pushes, pulls and unpacks OCI
// images, with go-containerregistry as the client library. It knows the
// shape slipway gives a release as an image (FromRelease: the release
// directory as one layer at /app, its process types, env and labels), how
// an image arrives on a host without internet (Import: a docker save or
// OCI-layout tarball), how it moves to and from a registry (Push, Pull)
// and how the runtime gets a root filesystem from it (Unpack) and what to
// run in it (Config).
//
// It starts no process and keeps no state: the registry, the history and
// the runtime belong to other packages, which call it.
//
// Imports: none of slipway's; go-containerregistry (pkg/v1, pkg/name, pkg/authn), golang.org/x/sys/unix.
package images
