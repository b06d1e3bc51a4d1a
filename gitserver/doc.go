// Package gitserver is slipway's SSH endpoint: it authenticates pushers by
// public key, runs the real git receive-pack and upload-pack for the wire
// protocol, and hands each push of the deployed branch to a Deployer from a
// pre-receive hook, so that a failed deploy rejects the push.
//
// Imports: slipway, internal/*.
package gitserver
