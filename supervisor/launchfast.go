package supervisor

// The launcher's fast path (launcher.c) is C run before the Go runtime
// starts: built with cgo, as slipway is; without cgo the Go launcher
// (Reexec) does all of it.

// #cgo CFLAGS: -O2 -Wall
import "C"
