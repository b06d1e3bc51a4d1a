package gitserver

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func FuzzParseCommand(f *testing.F) {
	for _, tt := range validCommands {
		f.Add(tt.raw)
	}
	for _, s := range []string{
		"", " ", "'", `"`, `\`, `'\''`, `"\"`, `"\\"`, `"$x"`, "\"`\"", `a\`, "a\\\n", "\\\n",
		"git receive-pack", "git upload-pack 'x' 'y'", "git status", "git",
		"config:set app 'A=1' \"B=2\" C\\=3", "a\x00b", "a;b", "a\nb", "a\rb", "a\tb",
		"\"a\nb\"", "'a\r\n'", "\xff\xfe 'é'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cmd, err := ParseCommand(raw)
		if err != nil {
			checkBadCommandErr(t, err)
			return
		}
		if cmd.Name == "" {
			t.Fatalf("ParseCommand(%q) = %#v: empty Name", raw, cmd)
		}
		if cmd.Args != nil && len(cmd.Args) == 0 {
			t.Fatalf("ParseCommand(%q) = %#v: empty non-nil Args", raw, cmd)
		}
		if cmd.Name == "git" && len(cmd.Args) > 0 && (cmd.Args[0] == "receive-pack" || cmd.Args[0] == "upload-pack") {
			t.Fatalf("ParseCommand(%q) = %#v: git's two-word form not normalised", raw, cmd)
		}
		for _, w := range append([]string{cmd.Name}, cmd.Args...) {
			if strings.IndexByte(w, 0) >= 0 {
				t.Fatalf("ParseCommand(%q) = %#v: a word contains NUL", raw, cmd)
			}
		}
		// Nothing unquoted in the input can reach the words without quoting,
		// so a word can only be longer than the input if quoting added to it.
		if n := len(strings.Join(append([]string{cmd.Name}, cmd.Args...), "")); n > len(raw) {
			t.Fatalf("ParseCommand(%q): words are longer (%d) than the input", raw, n)
		}

		requoted := quoteWords(cmd)
		if len(requoted) > maxCommandSize {
			return // quoting made it too long, which is refused on purpose
		}
		again, err := ParseCommand(requoted)
		if err != nil {
			t.Fatalf("ParseCommand(%q) = %#v, but its requoted form %q fails: %v", raw, cmd, requoted, err)
		}
		if !reflect.DeepEqual(again, cmd) {
			t.Fatalf("ParseCommand(%q) = %#v, but its requoted form %q parses as %#v", raw, cmd, requoted, again)
		}
	})
}

var appNameRE = regexp.MustCompile(slipway.AppNamePattern)

func FuzzRepoName(f *testing.F) {
	for _, s := range []string{
		"/myapp", "myapp", "myapp.git", "/myapp.git", "myapp/", "/myapp.git/", "",
		"/", "..", "a/../b", "/etc/passwd", "~/x", "~x", `a\b`, "MyApp", "1app",
		"/myapp/.git", "//x", strings.Repeat("a", 64), "a..b", "x.git.git",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		name, err := RepoName(path)
		if err != nil {
			checkBadCommandErr(t, err)
			return
		}
		if !appNameRE.MatchString(name) {
			t.Fatalf("RepoName(%q) = %q, which does not match %s", path, name, slipway.AppNamePattern)
		}
		if strings.Contains(name, "/") || strings.Contains(name, "..") {
			t.Fatalf("RepoName(%q) = %q, which is a path", path, name)
		}
		if !strings.Contains(path, name) {
			t.Fatalf("RepoName(%q) = %q, which is not part of the path", path, name)
		}
	})
}
