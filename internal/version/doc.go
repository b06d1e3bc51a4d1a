// Package version says which slipway runs: the version a release build
// sets at link time, else the commit Go recorded when it built slipway
// from a git checkout, else "dev".
//
// Imports: internal/*.
package version
