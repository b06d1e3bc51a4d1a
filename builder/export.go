package builder

import (
	"context"
	"io"
	"os"
	"path/filepath"
)

// export writes the tree of the pushed commit into s.tmp: git archive piped
// into untar, which refuses names and symlinks that would leave the tree.
func (s *session) export(ctx context.Context) error {
	const step = "export"
	repo, err := filepath.Abs(s.req.RepoDir)
	if err != nil {
		return failf(err, "%s: %v", step, err)
	}
	root, err := os.OpenRoot(s.tmp)
	if err != nil {
		return failf(err, "%s: %v", step, err)
	}
	defer root.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return failf(err, "%s: %v", step, err)
	}

	extracted := make(chan error, 1)
	go func() {
		err := untar(root, pr, s.b.limits)
		if err == nil {
			// Read git's end-of-archive padding, or git dies of SIGPIPE.
			_, _ = io.Copy(io.Discard, pr)
		}
		pr.Close() // after a refused entry, this stops git
		extracted <- err
	}()
	runErr := run(ctx, command{
		step:   "git archive",
		args:   []string{"git", "--git-dir=" + repo, "archive", "--format=tar", s.req.Commit},
		dir:    s.tmp,
		env:    gitEnv(s.req.GitEnv),
		stdout: pw,
	}, s.out, s.b.timeout)
	pw.Close()
	exErr := <-extracted

	switch {
	case runErr != nil && ctx.Err() != nil:
		return runErr
	case exErr != nil:
		return failf(exErr, "%s: %v", step, exErr)
	case runErr != nil:
		return runErr
	}
	if err := checkSymlinks(s.tmp); err != nil {
		return failf(err, "%s: %v", step, err)
	}
	return nil
}
