// Package slipway is the domain: app names, releases, process types, the
// app.json manifest, error codes and the data-dir layout, and the
// application's contract (wtf's rule): AppService, every use case the
// transports call, with its results (results.go) and who calls it on
// what terminal (caller.go). Package apps implements it; the transports
// (web, gitserver, commands) import this package and internal helpers,
// never apps or the parts below it; cmd/slipway wires them.
//
// Each package's doc.go ends with the slipway packages it may import
// ("slipway" is this one, "internal/*" any internal helper, "*" any),
// which TestImports_EachPackageKeepsToItsDoc holds it to.
//
// Imports: none: the standard library and outside modules only.
package slipway
