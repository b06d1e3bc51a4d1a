package builder

import (
	"os"

	"github.com/slipway/slipway/supervisor"
)

// buildEnv returns the environment of a build step (supervisor.BuildEnv)
// with SOURCE_VERSION, as on Heroku, and extra, which wins.
//
// Tool configuration in the real home (~/.npmrc, go env -w) is not seen by
// builds; configure builds through slipway's environment instead
// (npm_config_*, GOPROXY, PIP_*).
func buildEnv(home, commit string, extra ...string) []string {
	return supervisor.BuildEnv(home, append([]string{"SOURCE_VERSION=" + commit}, extra...)...)
}

// gitEnv returns the environment of the git commands that read the pushed
// commit: slipway's own plus the request's GitEnv.
func gitEnv(extra []string) []string {
	return append(os.Environ(), extra...)
}
