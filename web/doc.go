// Package web is slipway's admin address: server-rendered pages with every
// app's release history and a rollback button, forms on the app page that
// change the app through the commands of the ssh command table
// (Config.Commands), and the same data as JSON under /api. Everything
// except /healthz, /metrics, /static and the login form needs the admin
// token, as a Bearer header or a signed session cookie.
//
// Imports: slipway, internal/*.
package web
