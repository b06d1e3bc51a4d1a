// Package appdisk gives an app a filesystem of its own, so that what the
// app writes — its HOME, TMPDIRs, build cache, release directories and
// the logs of its output — cannot fill the filesystem that slipway's
// database, the repositories and the other apps need.
//
// A disk is an ext4 image of a fixed size in the data dir, preallocated
// (fallocate) so that its blocks are the app's from the start: the host
// running short of space never shows up as I/O errors inside it, and an
// app filling it gets ENOSPC on its own disk and nowhere else. It is
// loop-mounted nosuid,nodev. ext4 keeps 2% of it for root, so slipway
// can still write the app's logs and its release records when the app
// has filled the rest.
//
// Quotas would need the data dir's filesystem mounted with them, and a
// sparse image would let the host's free space run out under it: a
// preallocated image asks nothing of the host but loop devices and
// e2fsprogs, which Debian always has.
//
// It runs mount and mkfs.ext4, as root only.
//
// Imports: internal/*.
package appdisk
