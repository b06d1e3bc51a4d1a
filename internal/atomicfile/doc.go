// Package atomicfile writes files so that readers see the old content or the
// new, never a mix: write a temporary file beside the target, fsync, rename,
// fsync the directory.
//
// Imports: internal/*.
package atomicfile
