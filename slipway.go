package slipway

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors reported across package boundaries. Callers compare with errors.Is
// and map them to what an ssh user or an HTTP client sees.
var (
	// ErrInvalidAppName means a name does not match AppNamePattern.
	ErrInvalidAppName = errors.New("invalid app name")
	// ErrAppNotFound means no app of that name exists.
	ErrAppNotFound = errors.New("app not found")
	// ErrBuildFailed means a push could not be built into a release.
	ErrBuildFailed = errors.New("build failed")
	// ErrHealthCheck means a new release did not pass its health checks.
	ErrHealthCheck = errors.New("health check failed")
)

// AppNamePattern is the form every app name must have: it is used as a
// directory name, a DNS label and a git remote path, so it is kept to
// lower-case letters, digits and dashes.
const AppNamePattern = `^[a-z][a-z0-9-]{0,62}$`

var appNameRE = regexp.MustCompile(AppNamePattern)

// ValidateAppName returns an error wrapping ErrInvalidAppName, with a message
// a user can act on, when name is not a valid app name.
func ValidateAppName(name string) error {
	if !appNameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use 1-63 lower-case letters, digits and dashes, starting with a letter", ErrInvalidAppName, name)
	}
	return nil
}

// Version is a release number: v1, v2, … per app, never reused.
type Version int

// String returns the version as users see it: "v3".
func (v Version) String() string { return fmt.Sprintf("v%d", int(v)) }

// ParseVersion reads a release version as users write it: "v3" or "3".
func ParseVersion(s string) (Version, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || n < 1 {
		return 0, Errorf(EINVALID, "%q is not a release version: use vN, such as v3", s)
	}
	return Version(n), nil
}

// ShortSHA returns the first n characters of a commit id, as users see
// it (7 in lists, 12 in build headers).
func ShortSHA(sha string, n int) string {
	if len(sha) > n {
		return sha[:n]
	}
	return sha
}

// OneLine shortens s to n runes of its first line and replaces control
// characters, so that an untrusted string (a commit subject, an author)
// cannot drive a terminal or break a table.
func OneLine(s string, n int) string {
	r := []rune(s)
	for i, c := range r {
		if c == '\n' || c == '\r' {
			r = r[:i]
			break
		}
		if unicode.IsControl(c) {
			r[i] = '?'
		}
	}
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return string(r)
}

// Bounds of the untrusted text a push brings that the history keeps.
const (
	MaxSubjectLen = 4 << 10
	MaxAuthorLen  = 1 << 10
)

// truncatedMark ends a text Truncate cut.
const truncatedMark = " … [truncated]"

// Truncate returns s cut to at most n bytes, on a rune boundary, with a
// mark that says so; shorter text is returned as it is.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n-len(truncatedMark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMark
}
