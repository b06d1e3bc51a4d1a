// Package procfs reads what slipway needs of /proc: a process's state,
// parent and start time. It imports only the standard library.
//
// Imports: internal/*.
package procfs
