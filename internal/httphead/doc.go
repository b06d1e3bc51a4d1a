// Package httphead parses the header lines of a simple HTTP/1.1 head in
// place, for the fast paths that take the usual request (internal/h1) and
// the usual response (router) without net/http's textproto reader: one
// string holds the head and every value is a part of it, where textproto
// allocates each line and value. It takes only what textproto takes the
// same way (token names, values of visible characters, space, tab and
// obs-text, lines ended by CRLF, no folding); everything else is left to
// net/http, and each fast path is held to net/http by a differential fuzz
// target.
//
// Imports: internal/*.
package httphead
