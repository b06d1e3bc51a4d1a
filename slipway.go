// Package slipway holds the domain types shared by slipway's parts: app
// names, releases, process types and the app.json manifest. It imports only
// the standard library; adapters (gitserver, builder, releaser, router, web)
// import it and never each other.
package slipway

import (
	"errors"
	"fmt"
	"regexp"
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
