// Package pausable is a listener whose Accept can be paused: while it is,
// new connections wait in the kernel's listen queue for whoever accepts
// next. slipway pauses its ssh and admin listeners while it hands over to
// a new slipway process, so that the new one gets every connection that
// arrives meanwhile.
//
// Imports: internal/*.
package pausable
