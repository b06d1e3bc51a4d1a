package supervisor

import (
	"os"
	"strings"
)

// AppEnv returns the environment of an app's process: built from scratch
// rather than inherited, so that slipway's own settings (the admin token
// among them) never reach an app. PATH is path followed by the entries of
// slipway's PATH that an app may read (ReadablePath); vars (config, PORT,
// DYNO, SLIPWAY_*) come after the basics and win.
func AppEnv(home string, path []string, vars ...string) []string {
	p := ReadablePath(os.Getenv("PATH"))
	if len(path) > 0 {
		p = strings.Join(path, ":") + ":" + p
	}
	env := []string{"PATH=" + p, "HOME=" + home, "LANG=C.UTF-8"}
	env = append(env, vars...)
	for _, k := range []string{"TZ", "USER", "LOGNAME", "SHELL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

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

// BuildEnv returns the environment of a build step: slipway's own without
// the repository-locating git variables, HOME set to home so tools keep
// their caches and config out of the real home, no terminal prompts, and
// extra, which wins over all of them.
//
// Builds still see slipway's environment (GOPROXY, npm_config_*, PIP_*
// configure them); making them get only what an app gets is the isolation
// work that follows.
func BuildEnv(home string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !repoEnv[k] {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "GIT_TERMINAL_PROMPT=0")
	// os/exec keeps the last value of a repeated variable.
	return append(env, extra...)
}
