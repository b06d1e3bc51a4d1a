// Package builder turns a pushed commit into an immutable release directory.
// It exports the commit's tree next to the final directory, detects what kind
// of app it is (app.json build script, Go, Node.js, Python, Procfile-only or
// static site), runs the build with its output streamed live to the pusher,
// makes the tree read-only and renames it into place. A release directory is
// either complete or absent: nothing is left half-written.
//
// A tree with a Dockerfile is built into an OCI image instead
// (BuildDockerfile): buildah, rootless as the app's user, with its layer
// cache kept per app and base images from slipway's registries.
//
// Imports: slipway, images, supervisor, internal/*; go-containerregistry (pkg/v1/layout) to read the built image.
package builder
