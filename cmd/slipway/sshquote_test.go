package main

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway/slipway/gitserver"
)

// quoteCases are argument lists as a user types them, each of which must
// reach the server's parser unchanged.
var quoteCases = [][]string{
	{"config:set", "shop", "GREETING=hello world"},
	{"run", "shop", "echo $PORT"},
	{"run", "shop", "echo $PORT && ls *.py; exit 3"},
	{"run", "shop", "--", "printf", "%s|", "a b", "", "it's", `back\slash`},
	{"run", "shop", "python3", "-c", `import os; print(os.environ["GREETING"])`},
	{"config:set", "shop", `Q="double" and 'single' and \ and \\ and \"`},
	{"config:set", "shop", "LINES=one\ntwo\r\nthree\\\n"},
	{"config:set", "shop", "U=ünïcödé ✓ 日本", "TAB=a\tb", "EMPTY="},
	{"config:set", "shop", "META=;&|<>$`(){}!~#*?[]"},
	{"config:get", "shop", "'"},
	{"config:get", "shop", "''"},
	{"config:get", "shop", ""},
	{"config:get", "shop", " leading and trailing "},
	{"config:get", "shop", "\x01\x7f\xff not utf-8"},
	{"domains:add", "shop", "*.example.com", "shop.example.com"},
	{"logs", "shop", "-t", "-n", "10"},
	{"run", "shop", "-t"},
	{"run", "shop", "--", "--"},
	{"apps:list"},
}

// Every argument arrives at the server's parser exactly as typed.
func TestQuoteCommand_RoundTripsThroughTheServersParser(t *testing.T) {
	for _, words := range quoteCases {
		line, err := quoteCommand(words)
		if err != nil {
			t.Fatalf("quoteCommand(%q): %v", words, err)
		}
		checkRoundTrip(t, words, line)
	}
}

func checkRoundTrip(t *testing.T, words []string, line string) {
	t.Helper()
	got, err := gitserver.ParseCommand(line)
	want := gitserver.Command{Name: words[0]}
	if len(words) > 1 {
		want.Args = words[1:]
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseCommand(%q) = %#v, %v; want %#v", line, got, err, want)
	}
}

// Plain words go unquoted, so slipway's log shows the line as typed.
func TestQuoteCommand_LeavesPlainWordsBare(t *testing.T) {
	for words, want := range map[string]string{
		"config:set shop A=1 B=x.y/z": "config:set shop A=1 B=x.y/z",
		"run shop echo $PORT":         "run shop echo '$PORT'",
		"config:get shop it's":        `config:get shop 'it'\''s'`,
	} {
		if got, err := quoteCommand(strings.Fields(words)); err != nil || got != want {
			t.Errorf("quoteCommand(%q) = %q, %v; want %q", words, got, err, want)
		}
	}
}

func TestQuoteCommand_RefusesNUL(t *testing.T) {
	if _, err := quoteCommand([]string{"config:set", "shop", "A=\x00"}); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("err = %v", err)
	}
}

// Random words of the bytes that mean something to a parser or a shell
// round-trip too (FuzzQuoteCommand searches further).
func TestQuoteCommand_RandomWordsRoundTrip(t *testing.T) {
	const alphabet = " \t\n\r'\"\\$`;&|<>(){}!~#*?[]=-_aZ9\x01\x7fé✓"
	runes := []rune(alphabet)
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		words := []string{"config:set"}
		for range r.IntN(6) + 1 {
			var w strings.Builder
			for range r.IntN(8) {
				w.WriteRune(runes[r.IntN(len(runes))])
			}
			words = append(words, w.String())
		}
		line, err := quoteCommand(words)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, words, line)
	}
}

func FuzzQuoteCommand(f *testing.F) {
	for _, words := range quoteCases {
		f.Add(strings.Join(words[1:], "\x1f"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		words := append([]string{"config:set"}, strings.Split(joined, "\x1f")...)
		if strings.IndexByte(joined, 0) >= 0 || len(words) > 200 || len(joined) > 16<<10 {
			return // refused here, or past the server's limits
		}
		line, err := quoteCommand(words)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, words, line)
	})
}
