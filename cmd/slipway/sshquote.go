package main

import (
	"strings"

	"github.com/slipway/slipway"
)

// quoteCommand joins words into the one command line ssh sends, quoted
// for slipway's ssh command parser (gitserver.ParseCommand) so that it
// gives back exactly words: no shell reads the line, on either side, so
// "$PORT" arrives as the five bytes typed and the app's shell (run's)
// is the first to expand it. A word of plain characters goes as it is, so
// the line reads as typed in slipway's log; any other is single-quoted,
// where the parser takes every byte as it is but the quote itself, for
// which the quoting stops, writes \' and starts again. A NUL byte cannot
// be sent: slipway refuses it, and ssh's command is a C string to most
// servers.
func quoteCommand(words []string) (string, error) {
	var b strings.Builder
	for i, w := range words {
		if strings.IndexByte(w, 0) >= 0 {
			return "", slipway.Errorf(slipway.EINVALID, "argument %d holds a NUL byte, which an ssh command cannot carry: leave it out", i)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		if plainWord(w) {
			b.WriteString(w)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(w, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String(), nil
}

// plainWord reports whether w needs no quotes: it is not empty and holds
// only letters, digits and punctuation that no parser (slipway's, or a
// shell's) gives a meaning.
func plainWord(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			return false
		}
	}
	return true
}
