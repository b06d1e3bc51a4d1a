package gitserver

// The hook's fast path (hookfast.c) is C run before the Go runtime
// starts: built with cgo, as slipway is; without cgo the Go hook
// (RunHook) answers.

// #cgo CFLAGS: -O2 -Wall
import "C"
