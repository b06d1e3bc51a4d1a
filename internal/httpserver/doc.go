// Package httpserver runs an http.Handler with the lifecycle every
// slipway server has: New, Start (listen, serve in the background, expose
// the bound address), Shutdown.
//
// Imports: internal/*.
package httpserver
