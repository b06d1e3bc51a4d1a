package builder

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// session is one build in progress.
type session struct {
	b     *Builder
	req   Request
	out   *stream
	log   *slog.Logger
	tmp   string // the tree being built, next to final
	final string // the release directory tmp becomes
	cache string // the app's build caches, kept between builds
	// sandbox confines the build steps; nil runs them as slipway.
	sandbox *supervisor.Sandbox
}

// run runs c in the tree being built, with the build output and limit,
// inside the app's sandbox: it may write the tree and the cache only.
func (s *session) run(ctx context.Context, c command) error {
	if c.dir == "" {
		c.dir = s.tmp
	}
	c.tmpDir = s.b.layout().Tmp(s.req.App, s.req.Version, "build")
	if s.sandbox != nil {
		sb := *s.sandbox
		sb.Write = []string{s.tmp, s.cache}
		if sb.Cgroup != "" {
			sb.Cgroup += "-" + s.req.Version.String() + "-build"
		}
		c.sandbox = &sb
	}
	return run(ctx, c, s.out, s.b.timeout)
}

// env returns the environment of a build step, with extra added: what an
// app's process gets (its config, SLIPWAY_APP, a PATH of system dirs),
// with HOME in the cache, never slipway's own environment.
func (s *session) env(extra ...string) []string {
	vars := append(slipway.EnvList(s.req.Env), "SLIPWAY_APP="+s.req.App, "SLIPWAY_RELEASE="+s.req.Version.String(),
		"SLIPWAY_COMMIT="+s.req.Commit, "SOURCE_VERSION="+s.req.Commit, "GIT_TERMINAL_PROMPT=0")
	return supervisor.AppEnv(s.home(), nil, append(vars, extra...)...)
}

// unlessSet returns those KEY=VALUE of defaults whose key the app's
// config does not set, in any case (npm reads npm_config_* and
// NPM_CONFIG_* alike): slipway's defaults, which the app's config wins
// over.
func (s *session) unlessSet(defaults ...string) []string {
	var out []string
	for _, kv := range defaults {
		key, _, _ := strings.Cut(kv, "=")
		set := false
		for k := range s.req.Env {
			set = set || strings.EqualFold(k, key)
		}
		if !set {
			out = append(out, kv)
		}
	}
	return out
}

// indexHint ends the failure of a step that fetches packages.
func indexHint(app, variable string) string {
	return "; if it could not reach the package index, point builds at one this host reaches: config:set " + app + " " + variable + "=URL (see docs on builds without internet)"
}

// home is the HOME of build steps: inside the cache, so what tools keep
// there (pip's cache, ~/.npmrc written by a script) survives between builds
// and stays out of the real home.
func (s *session) home() string {
	return s.b.layout().BuildHome(s.req.App)
}

// releasePath returns the directories of the tree to put on PATH, named
// as they will be in final.
func releasePath(tmp, final string) []string {
	var dirs []string
	for _, d := range []string{filepath.Join(venvDir, "bin"), filepath.Join("node_modules", ".bin"), "bin"} {
		if isDir(filepath.Join(tmp, d)) {
			dirs = append(dirs, filepath.Join(final, d))
		}
	}
	return dirs
}

// roundDuration rounds d for "Build succeeded in 1.2s".
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
