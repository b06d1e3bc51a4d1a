package builder

import (
	"regexp"

	"github.com/slipway/slipway"
)

// shaRE matches a full SHA-1 or SHA-256 object name. Anything else is
// refused before it reaches git's command line.
var shaRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// checkRequest returns a build error when req cannot name a release: the
// app name becomes a directory name and the commit a git argument.
func checkRequest(req Request) error {
	if err := slipway.ValidateAppName(req.App); err != nil {
		return failf(err, "%v", err)
	}
	if req.Version < 1 {
		return failf(nil, "invalid release version %d", int(req.Version))
	}
	if !shaRE.MatchString(req.Commit) {
		return failf(nil, "invalid commit %q: want a full hex SHA", req.Commit)
	}
	if req.RepoDir == "" {
		return failf(nil, "no repository directory")
	}
	return nil
}
