// Package termsafe keeps untrusted output (what a build or an app prints,
// user input quoted in an error) from driving the terminal it is shown
// on: only printable text, tab, newline and SGR colour sequences
// (ESC [ … m) pass (Plain drops those too). Every other control character, escape sequence start
// (OSC 0 retitles the window, OSC 52 writes the clipboard), C1 control and
// invalid UTF-8 byte becomes U+FFFD; a carriage return ends the line, as
// a progress bar's redraws then become lines.
//
// Imports: internal/*.
package termsafe
