// Package testutil owns the helpers that tests of several packages share,
// so that they are hermetic and bounded the same way everywhere: polling
// for a condition under a deadline (WaitFor), a private HOME (PrivateHome),
// commands under a deadline (Command), whether a process still runs, a
// zombie being gone (ProcessAlive), the two HTTP/1 servers a handler is
// tested behind as named subtests (EachHTTPServer), the -short skip of
// the tests that compile a Go app (SkipIfShortCompile), and a test's end
// for want of a tool the host lacks, skipped in one line naming the tool
// and its Debian package, failed under CI (Missing, NeedTool, NeedVenv),
// and a CA of the test's own with a certificate for 127.0.0.1 (NewTestCA).
//
// Only _test.go files import it, never slipway itself. It may import the
// standard library only, so that any package's tests can use it.
//
// Imports: none (the standard library only).
package testutil
