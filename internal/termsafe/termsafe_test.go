package termsafe

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\tand tabs\n":                 "plain text\tand tabs\n",
		"\x1b[1;31mred\x1b[0m":                   "\x1b[1;31mred\x1b[0m",
		"\x1b]0;owned title\x07":                 "\uFFFD]0;owned title\uFFFD",
		"\x1b]52;c;cm0gLXJmIH4=\x1b\\":           "\uFFFD]52;c;cm0gLXJmIH4=\uFFFD\\",
		"\x1b[2J\x1b[H":                          "\uFFFD[2J\uFFFD[H",
		"a\rb\r\nc":                              "a\nb\nc",
		"bell\x07 nul\x00 del\x7f":               "bell\uFFFD nul\uFFFD del\uFFFD",
		"c1 csi \u009b31m":                       "c1 csi \uFFFD31m",
		"bad utf8 \xff\xfe":                      "bad utf8 \uFFFD\uFFFD",
		"ünïcödé ✓ 漢字":                           "ünïcödé ✓ 漢字",
		"\x1b[" + strings.Repeat("1;", 40) + "m": "\uFFFD[" + strings.Repeat("1;", 40) + "m",
		"trailing esc \x1b":                      "trailing esc \uFFFD",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlain(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[1;31mred\x1b[0m done": "red done",
		"\x1b]0;title\x07":          "\uFFFD]0;title\uFFFD",
		"a\rb":                      "a\nb",
	} {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
}

// safe matches what may reach a terminal: no control character but tab
// and newline, ESC only to start an SGR sequence.
var sgr = regexp.MustCompile("\x1b\\[[0-9;:]*m")

func checkSafe(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Clean(%q) = %q: not UTF-8", in, out)
	}
	rest := sgr.ReplaceAllString(out, "")
	for _, r := range rest {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			t.Fatalf("Clean(%q) = %q: passes control %U", in, out, r)
		}
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"\x1b[31mred\x1b[0m\n", "\x1b]52;c;eA==\x07", "a\r\nb\rc", "\u009b2J", "\xff", "\x1b[1"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, in string, chunk int) {
		out := Clean(in)
		checkSafe(t, in, out)
		if plain := Plain(in); strings.ContainsRune(plain, 0x1b) || plain != sgr.ReplaceAllString(out, "") {
			t.Fatalf("Plain(%q) = %q, want Clean's %q without colours", in, plain, out)
		}
		// Written in pieces, the result is the same as at once.
		if chunk < 1 {
			chunk = 1
		}
		var b bytes.Buffer
		w := NewWriter(&b)
		for p := []byte(in); len(p) > 0; {
			n := min(chunk, len(p))
			w.Write(p[:n])
			p = p[n:]
		}
		w.Flush()
		if b.String() != out {
			t.Fatalf("in chunks of %d, %q became %q; at once %q", chunk, in, b.String(), out)
		}
	})
}
