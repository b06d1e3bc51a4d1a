package gitserver

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/slipway/slipway"
)

// ErrBadCommand wraps every ParseCommand and RepoName error: the ssh exec
// request could not be understood, and nothing was run.
var ErrBadCommand = errors.New("bad command")

// Command is a parsed ssh exec request.
type Command struct {
	Name string   // first word, e.g. "git-receive-pack", "git-upload-pack", "releases", "config:set"
	Args []string // the remaining words, unquoted; nil when there are none
}

// Limits on an exec request. Both are far above anything git or a management
// command sends; they bound the work an unauthenticated-looking peer can cause.
const (
	maxCommandSize  = 64 << 10
	maxCommandWords = 256
)

// shellMetachars are refused outside quotes. A shell would give each of them a
// meaning (redirection, expansion, comments, command lists), and we never run
// a shell, so accepting them would silently mean something else than what the
// user typed.
const shellMetachars = ";&|<>$`(){}!~#\n\r"

// globChars are taken as they are outside quotes: a client's shell that
// could have globbed them did not (nothing matched, or the user quoted
// them for it), and the server has no files to glob against, so
// domains:add NAME *.example.com means what it says. In run's command
// they are the app's shell's to glob.
const globChars = "*?[]"

// runPrefix is the start of a run or run:detached command: the command,
// the app and an optional "--"; the rest is the command to run.
var runPrefix = regexp.MustCompile(`^[ \t]*(run|run:detached)[ \t]+([a-z][a-z0-9-]{0,62})[ \t]+(?:--[ \t]+)?`)

// ParseCommand splits raw the way a POSIX shell would split plain words, but
// strictly: single quotes, double quotes and backslash escapes are honoured,
// and anything a shell would expand or interpret (unquoted metacharacters,
// "$" or "`" inside double quotes) is refused instead of passed on. git's
// two-word form "git receive-pack ARG" is normalised to "git-receive-pack
// ARG", and likewise for upload-pack.
func ParseCommand(raw string) (Command, error) {
	if len(raw) > maxCommandSize {
		return Command{}, badf("command is longer than %d KiB: send a shorter one", maxCommandSize>>10)
	}
	if strings.IndexByte(raw, 0) >= 0 {
		return Command{}, badf("command contains a NUL byte: remove it")
	}
	if cmd, ok := parseRun(raw); ok {
		return cmd, nil
	}
	words, err := splitWords(raw, shellMetachars)
	if err != nil {
		if strings.HasPrefix(err.Error(), ErrBadCommand.Error()+": unquoted") {
			err = fmt.Errorf("%w (slipway received: %s)", err, received(raw))
		}
		return Command{}, err
	}
	if len(words) == 0 || words[0] == "" {
		return Command{}, badf("empty command: name a command, e.g. releases NAME")
	}
	if words[0] == "git" && len(words) > 1 && (words[1] == "receive-pack" || words[1] == "upload-pack") {
		words = append([]string{"git-" + words[1]}, words[2:]...)
	}
	cmd := Command{Name: words[0]}
	if len(words) > 1 {
		cmd.Args = words[1:]
	}
	return cmd, nil
}

// parseRun parses run NAME [--] COMMAND whose COMMAND is a shell command
// line, as ssh delivers `ssh HOST run NAME 'echo $PORT && ls'` once the
// client's shell took the quotes away: COMMAND is then one word, the
// script for the app's shell, as heroku run and dokku run take it. A
// COMMAND of plain words (or quoted ones) is left to the strict parser,
// as before.
func parseRun(raw string) (Command, bool) {
	m := runPrefix.FindStringSubmatchIndex(raw)
	if m == nil {
		return Command{}, false
	}
	rest := strings.TrimRight(raw[m[1]:], " \t")
	if rest == "" {
		return Command{}, false
	}
	if _, err := splitWords(rest, shellMetachars+globChars); err == nil {
		return Command{}, false
	}
	return Command{Name: raw[m[2]:m[3]], Args: []string{raw[m[4]:m[5]], rest}}, true
}

// received shows the command slipway received, on one line, for an error
// that refuses it.
func received(raw string) string {
	raw = strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(raw)
	if len(raw) > 200 {
		raw = raw[:200] + "…"
	}
	return raw
}

// splitWords does ParseCommand's word splitting, refusing the bytes of
// refused outside quotes; raw has no NUL bytes.
func splitWords(raw, refused string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool // distinguishes an empty quoted word ('') from no word
	)
	endWord := func() error {
		if !inWord {
			return nil
		}
		if len(words) == maxCommandWords {
			return badf("more than %d words: send fewer arguments", maxCommandWords)
		}
		words = append(words, word.String())
		word.Reset()
		inWord = false
		return nil
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == ' ' || c == '\t':
			if err := endWord(); err != nil {
				return nil, err
			}
		case c == '\'':
			j := strings.IndexByte(raw[i+1:], '\'')
			if j < 0 {
				return nil, badf("unterminated ' quote: close the quote")
			}
			word.WriteString(raw[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			n, err := readDoubleQuoted(raw[i+1:], &word)
			if err != nil {
				return nil, err
			}
			i += n
			inWord = true
		case c == '\\':
			if i+1 == len(raw) {
				return nil, badf(`trailing backslash: remove it, or write '\' to mean a backslash`)
			}
			i++
			// As in a shell, backslash-newline joins lines and adds nothing.
			if raw[i] != '\n' {
				word.WriteByte(raw[i])
				inWord = true
			}
		case strings.IndexByte(refused, c) >= 0:
			return nil, badf("unquoted %s is not allowed: put the word in single quotes", describeByte(c))
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if err := endWord(); err != nil {
		return nil, err
	}
	return words, nil
}

// readDoubleQuoted appends the contents of a double-quoted string to w. s
// starts just after the opening quote; the result is the number of bytes
// consumed, closing quote included.
func readDoubleQuoted(s string, w *strings.Builder) (int, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return i + 1, nil
		case '$', '`':
			return 0, badf("%s inside double quotes is not allowed (nothing is expanded): use single quotes, or write \\%c", describeByte(c), c)
		case '\\':
			if i+1 == len(s) {
				return 0, badf(`unterminated " quote: close the quote`)
			}
			switch next := s[i+1]; next {
			case '"', '\\', '$', '`':
				w.WriteByte(next)
				i++
			case '\n':
				i++
			default:
				// POSIX: any other backslash inside double quotes is literal.
				w.WriteByte('\\')
			}
		default:
			w.WriteByte(c)
		}
	}
	return 0, badf(`unterminated " quote: close the quote`)
}

// describeByte names c for an error message that must stay on one line.
func describeByte(c byte) string {
	switch c {
	case '\n':
		return "newline"
	case '\r':
		return "carriage return"
	}
	return fmt.Sprintf("%q", string(c))
}

// RepoName turns the path argument git sends to git-receive-pack or
// git-upload-pack ("/NAME", "NAME", "NAME.git", "/NAME.git", "NAME/") into an
// app name. It strips one leading "/", one trailing "/" and one trailing
// ".git", and refuses everything else that is not a valid app name, so the
// result is safe to use as a directory name.
func RepoName(path string) (string, error) {
	name := strings.TrimPrefix(path, "/")
	name = strings.TrimSuffix(name, "/")
	name = strings.TrimSuffix(name, ".git")
	if strings.Contains(name, "/") || strings.Contains(name, "..") || strings.Contains(name, `\`) {
		return "", badf("repository path %q: use ssh://git@HOST:2222/NAME with just the app name, not a directory path", path)
	}
	if err := slipway.ValidateAppName(name); err != nil {
		return "", fmt.Errorf("%w: repository path %q: use ssh://git@HOST:2222/NAME: %w", ErrBadCommand, path, err)
	}
	return name, nil
}

// badf returns a one-line error wrapping ErrBadCommand.
func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadCommand, fmt.Sprintf(format, args...))
}
