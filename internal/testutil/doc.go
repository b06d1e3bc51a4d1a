// Package testutil holds the helpers that tests of several packages share,
// so that they are hermetic and bounded the same way everywhere: polling
// for a condition with a deadline (WaitFor), a private HOME (PrivateHome),
// commands under a deadline (Command), the two HTTP/1 servers a handler is
// tested behind, as named subtests (EachHTTPServer), and the -short skip of
// tests that compile a Go app (SkipIfShortCompile).
//
// It is imported by _test.go files only, never by slipway itself.
//
// Imports: the standard library only.
package testutil
