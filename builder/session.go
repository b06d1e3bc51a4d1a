package builder

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"
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
}

// run runs c in the tree being built, with the build output and limit.
func (s *session) run(ctx context.Context, c command) error {
	if c.dir == "" {
		c.dir = s.tmp
	}
	return run(ctx, c, s.out, s.b.timeout)
}

// env returns the environment of a build step, with extra added.
func (s *session) env(extra ...string) []string {
	return buildEnv(s.home(), s.req.Commit, extra...)
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
