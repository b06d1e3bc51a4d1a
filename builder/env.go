package builder

import (
	"os"
)

// gitEnv returns the environment of the git commands that read the pushed
// commit: slipway's own plus the request's GitEnv.
func gitEnv(extra []string) []string {
	return append(os.Environ(), extra...)
}
