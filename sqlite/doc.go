// Package sqlite keeps slipway's release history in a SQLite database. It
// implements slipway.ReleaseStore.
//
// Imports: slipway, internal/*.
package sqlite
