package builder

import (
	"os"
	"strings"
)

// repoEnv lists the git variables that locate a repository. slipway may
// run inside a git hook, where they point at the pushed bare repository; a
// build step that runs git (go get, npm installing a git dependency) must
// not inherit them.
var repoEnv = map[string]bool{
	"GIT_DIR":                          true,
	"GIT_WORK_TREE":                    true,
	"GIT_INDEX_FILE":                   true,
	"GIT_COMMON_DIR":                   true,
	"GIT_PREFIX":                       true,
	"GIT_NAMESPACE":                    true,
	"GIT_OBJECT_DIRECTORY":             true,
	"GIT_ALTERNATE_OBJECT_DIRECTORIES": true,
	"GIT_QUARANTINE_PATH":              true,
}

// buildEnv returns the environment of a build step: slipway's own without
// the repository-locating git variables, HOME set to home so tools keep
// their caches and config out of the real home, no terminal prompts, and
// extra, which wins over all of them.
//
// Tool configuration in the real home (~/.npmrc, go env -w) is not seen by
// builds; configure builds through slipway's environment instead
// (npm_config_*, GOPROXY, PIP_*).
func buildEnv(home, commit string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !repoEnv[k] {
			env = append(env, kv)
		}
	}
	env = append(env,
		"HOME="+home,
		"GIT_TERMINAL_PROMPT=0",
		"SOURCE_VERSION="+commit, // as on Heroku
	)
	// os/exec keeps the last value of a repeated variable.
	return append(env, extra...)
}

// gitEnv returns the environment of the git commands that read the pushed
// commit: slipway's own plus the request's GitEnv.
func gitEnv(extra []string) []string {
	return append(os.Environ(), extra...)
}
