package gitserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Commit is what a release records of the pushed commit.
type Commit struct {
	SHA     string
	Subject string
	Author  string // "Name <email>"
	Time    time.Time
}

// ReadCommit reads commit sha of the bare repository repoDir. gitEnv is the
// pre-receive hook's quarantine environment: during a push the new objects
// are only visible through it, so the raw object comes from git cat-file
// with that environment and go-git decodes it.
func ReadCommit(ctx context.Context, repoDir string, gitEnv []string, sha string) (Commit, error) {
	if !plumbing.IsHash(sha) {
		return Commit{}, fmt.Errorf("not a commit id: %q", sha)
	}
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+repoDir, "cat-file", "commit", sha)
	cmd.Env = append(os.Environ(), gitEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return Commit{}, fmt.Errorf("read commit %s: %v: %s", sha, err, strings.TrimSpace(stderr.String()))
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(plumbing.CommitObject)
	obj.Write(raw)
	var c object.Commit
	if err := c.Decode(obj); err != nil {
		return Commit{}, fmt.Errorf("decode commit %s: %w", sha, err)
	}
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return Commit{
		SHA:     sha,
		Subject: strings.TrimSpace(subject),
		Author:  fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		Time:    c.Author.When,
	}, nil
}

// RefValue returns the commit ref (refs/heads/main) points at in the bare
// repository repoDir, or the all-zero id when there is no such ref: what
// git receive-pack compares a push's old value with.
func RefValue(ctx context.Context, repoDir, ref string) (string, error) {
	if !strings.HasPrefix(ref, "refs/") || strings.ContainsAny(ref, " \t\n") {
		return "", fmt.Errorf("not a ref name: %q", ref)
	}
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+repoDir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return zeroSHA, nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s of %s: %w", ref, repoDir, err)
	}
	return strings.TrimSpace(string(out)), nil
}
