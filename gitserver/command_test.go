package gitserver

import (
	"bytes"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

// validCommands are exec requests ParseCommand must accept, with what they
// mean. Each is also checked against /bin/sh in TestParseCommand_MatchesShell.
var validCommands = []struct {
	raw  string
	want Command
}{
	// What git itself sends (sq_quote_buf in git's quote.c).
	{`git-receive-pack '/myapp'`, Command{"git-receive-pack", []string{"/myapp"}}},
	{`git-upload-pack 'myapp.git'`, Command{"git-upload-pack", []string{"myapp.git"}}},
	{`git receive-pack 'x'`, Command{"git-receive-pack", []string{"x"}}},
	{`git upload-pack '/x.git'`, Command{"git-upload-pack", []string{"/x.git"}}},
	{`git-receive-pack 'it'\''s'`, Command{"git-receive-pack", []string{"it's"}}},
	{`git-receive-pack 'wow'\!''`, Command{"git-receive-pack", []string{"wow!"}}},
	{`git-receive-pack myapp`, Command{"git-receive-pack", []string{"myapp"}}},

	// Management commands.
	{`releases myapp`, Command{"releases", []string{"myapp"}}},
	{`apps`, Command{"apps", nil}},
	{"  \t releases \t  myapp  \t", Command{"releases", []string{"myapp"}}},
	{`config:set myapp 'GREETING=hello world'`, Command{"config:set", []string{"myapp", "GREETING=hello world"}}},
	{`config:set myapp K='a;b'`, Command{"config:set", []string{"myapp", "K=a;b"}}},
	{`config:set myapp K='a=b=c' L="x y"`, Command{"config:set", []string{"myapp", "K=a=b=c", "L=x y"}}},
	{"config:set myapp 'KEY=line1\nline2\r\n'", Command{"config:set", []string{"myapp", "KEY=line1\nline2\r\n"}}},
	{`config:set myapp 'Q="quoted"' "R='single'"`, Command{"config:set", []string{"myapp", `Q="quoted"`, "R='single'"}}},
	{`config:set myapp 'M=; & | < > $ ` + "`" + ` ( ) { } * ? [ ] ! ~ #'`, Command{"config:set", []string{"myapp", "M=; & | < > $ ` ( ) { } * ? [ ] ! ~ #"}}},
	{`config:set myapp "D=\"\\\$\` + "`" + `"`, Command{"config:set", []string{"myapp", "D=\"\\$`"}}},
	{`config:set myapp "E=a\b\n"`, Command{"config:set", []string{"myapp", `E=a\b\n`}}},
	{"config:set myapp \"F=a\\\nb\"", Command{"config:set", []string{"myapp", "F=ab"}}},
	{"config:set myapp \"G=a\nb;c\"", Command{"config:set", []string{"myapp", "G=a\nb;c"}}},
	{`config:set myapp A\;B\ C`, Command{"config:set", []string{"myapp", "A;B C"}}},
	{"releases \\\nmyapp", Command{"releases", []string{"myapp"}}},
	{`config:set myapp '' ""`, Command{"config:set", []string{"myapp", "", ""}}},
	{`config:set myapp a'b'"c"d`, Command{"config:set", []string{"myapp", "abcd"}}},
	{`config:set myapp 'ünïcödé=✓'`, Command{"config:set", []string{"myapp", "ünïcödé=✓"}}},
	{`'releases' "myapp"`, Command{"releases", []string{"myapp"}}},
	{`logs myapp -n=100 --tail`, Command{"logs", []string{"myapp", "-n=100", "--tail"}}},
	{strings.Repeat("a ", maxCommandWords), Command{"a", strings.Fields(strings.Repeat("a ", maxCommandWords-1))}},
}

func TestParseCommand(t *testing.T) {
	for _, tt := range validCommands {
		got, err := ParseCommand(tt.raw)
		if err != nil {
			t.Errorf("ParseCommand(%q): %v", tt.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCommand(%q) = %#v, want %#v", tt.raw, got, tt.want)
		}
	}
}

func TestParseCommand_Refuses(t *testing.T) {
	tests := []struct {
		raw     string
		wantErr string // a part of the message
	}{
		{``, "empty command"},
		{" \t ", "empty command"},
		{`'' myapp`, "empty command"},
		{`releases 'myapp`, "unterminated ' quote: close the quote"},
		{`releases "myapp`, `unterminated " quote: close the quote`},
		{`releases "myapp\"`, `unterminated " quote`},
		{`releases "myapp\`, `unterminated " quote`},
		{`releases myapp\`, "trailing backslash"},
		{"releases my\x00app", "NUL"},
		{"releases 'my\x00app'", "NUL"},
		{`releases "$HOME"`, `"$" inside double quotes`},
		{`releases "$(id)"`, `"$" inside double quotes`},
		{"releases \"`id`\"", "\"`\" inside double quotes"},
		{"releases myapp\n", "unquoted newline"},
		{"releases myapp\rid", "unquoted carriage return"},
		{strings.Repeat("a", maxCommandSize+1), "longer than 64 KiB"},
		{"x '" + strings.Repeat("a", maxCommandSize) + "'", "longer than 64 KiB"},
		{strings.Repeat("a ", maxCommandWords+1), "more than 256 words"},
		{strings.Repeat("a ", maxCommandWords) + "''", "more than 256 words"},
	}
	for _, c := range shellMetachars {
		tests = append(tests,
			struct{ raw, wantErr string }{"releases myapp" + string(c) + "id", "unquoted " + describeByte(byte(c))},
			struct{ raw, wantErr string }{string(c) + "releases", "unquoted " + describeByte(byte(c))},
		)
	}
	for _, tt := range tests {
		got, err := ParseCommand(tt.raw)
		if err == nil {
			t.Errorf("ParseCommand(%q) = %#v, want an error containing %q", tt.raw, got, tt.wantErr)
			continue
		}
		checkBadCommandErr(t, err)
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseCommand(%q) error = %q, want it to contain %q", short(tt.raw), err, tt.wantErr)
		}
	}
}

// TestParseCommand_MatchesShell checks that every accepted command splits the
// way a real POSIX shell splits it, so what a user types in a terminal and
// quotes for their shell means the same to slipway.
func TestParseCommand_MatchesShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	for _, tt := range validCommands {
		if strings.HasPrefix(tt.raw, "git ") {
			continue // normalised on purpose
		}
		// Safe: tt.raw was accepted, so it has no unquoted metacharacters.
		out, err := exec.Command(sh, "-c", `printf '%s\0' `+tt.raw).Output()
		if err != nil {
			t.Errorf("sh -c %q: %v", tt.raw, err)
			continue
		}
		words := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		got, err := ParseCommand(tt.raw)
		if err != nil {
			t.Fatalf("ParseCommand(%q): %v", tt.raw, err)
		}
		want := Command{Name: words[0]}
		if len(words) > 1 {
			want.Args = words[1:]
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCommand(%q) = %#v, sh splits it as %#v", tt.raw, got, want)
		}
	}
}

func TestRepoName(t *testing.T) {
	tests := []struct {
		path, want string
	}{
		{"/myapp", "myapp"},
		{"myapp", "myapp"},
		{"myapp.git", "myapp"},
		{"/myapp.git", "myapp"},
		{"myapp/", "myapp"},
		{"/myapp.git/", "myapp"},
		{"my-app-2", "my-app-2"},
		{"a", "a"},
		{"/" + strings.Repeat("a", 63) + ".git", strings.Repeat("a", 63)},
	}
	for _, tt := range tests {
		got, err := RepoName(tt.path)
		if err != nil {
			t.Errorf("RepoName(%q): %v", tt.path, err)
			continue
		}
		if got != tt.want {
			t.Errorf("RepoName(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestRepoName_Refuses(t *testing.T) {
	tests := []struct {
		path        string
		invalidName bool // the error also wraps slipway.ErrInvalidAppName
	}{
		{"", true},
		{"/", true},
		{".git", true},
		{"/.git", true},
		{"..", false},
		{"/..", false},
		{"../myapp", false},
		{"a/../b", false},
		{"myapp/..", false},
		{"/etc/passwd", false},
		{"/srv/git/x", false},
		{"//myapp", false},
		{"myapp//", false},
		{"/myapp/.git", false},
		{"a/b", false},
		{`a\b`, false},
		{`..\x`, false},
		{"~/x", false},
		{"~x", true},
		{"~", true},
		{"MyApp", true},
		{"/MYAPP.git", true},
		{"1app", true},
		{"-app", true},
		{"my_app", true},
		{"my.app", true},
		{"myapp.git.git", true},
		{"myapp.GIT", true},
		{"my app", true},
		{"myapp\n", true},
		{"myapp\x00", true},
		{strings.Repeat("a", 64), true},
		{"/" + strings.Repeat("a", 64) + ".git", true},
	}
	for _, tt := range tests {
		got, err := RepoName(tt.path)
		if err == nil {
			t.Errorf("RepoName(%q) = %q, want an error", tt.path, got)
			continue
		}
		checkBadCommandErr(t, err)
		if !strings.Contains(err.Error(), "ssh://git@HOST:2222/NAME") {
			t.Errorf("RepoName(%q) error = %q, want it to show the expected form", tt.path, err)
		}
		if got, want := errors.Is(err, slipway.ErrInvalidAppName), tt.invalidName; got != want {
			t.Errorf("RepoName(%q): errors.Is(err, ErrInvalidAppName) = %v, want %v (err: %v)", tt.path, got, want, err)
		}
	}
}

// checkBadCommandErr checks what every ParseCommand and RepoName error
// promises: it wraps ErrBadCommand and is one line a user can read.
func checkBadCommandErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrBadCommand) {
		t.Errorf("error %q does not wrap ErrBadCommand", err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\r\x00") {
		t.Errorf("error %q is not one line", msg)
	}
}

// short keeps huge test inputs out of failure messages.
func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// quoteWords is the inverse of ParseCommand: it single-quotes each word the
// way git does, so the result parses back to the same words.
func quoteWords(c Command) string {
	var b bytes.Buffer
	for i, w := range append([]string{c.Name}, c.Args...) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(w, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

func TestQuoteWords_RoundTrips(t *testing.T) {
	for _, tt := range validCommands {
		raw := quoteWords(tt.want)
		got, err := ParseCommand(raw)
		if err != nil {
			t.Errorf("ParseCommand(%q): %v", raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCommand(%q) = %#v, want %#v", raw, got, tt.want)
		}
	}
}
