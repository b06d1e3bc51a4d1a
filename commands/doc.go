// Package commands is the one table of slipway's management commands:
// name, usage, help, argument parsing and what each prints. The ssh
// endpoint runs them (`ssh -p 2222 git@HOST ps NAME`), and so does the
// admin API for the local `slipway ps NAME`. Each parses its words and
// prints; the use cases are the application layer's (package apps).
//
// Imports: slipway, internal/*.
package commands
