package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// appName is the app the tool loads and deploys; controlApp is the app a
// control run (--control) deploys instead, with the same code.
const (
	appName    = "loadapp"
	controlApp = "loadctl"
)

// pushTimeout bounds one git push: a build-less deploy takes seconds.
const pushTimeout = 2 * time.Minute

// repo is the app's git work tree and how to push it to slipway.
type repo struct {
	dir     string
	env     []string
	sshAddr string
	version int // content of VERSION at the last commit
}

// repoFile is one file of the app's work tree.
type repoFile struct {
	name string
	data []byte
	mode os.FileMode
}

// newRepo makes a git work tree in dir with files and a VERSION file,
// committed on main. home is HOME for git and ssh, key the private key to
// push with.
func newRepo(ctx context.Context, dir string, files []repoFile, home, key, sshAddr string) (*repo, error) {
	r := &repo{
		dir: dir,
		env: append(os.Environ(),
			"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"GIT_SSH_COMMAND=ssh -i "+key+" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no"+
				" -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes",
			"GIT_AUTHOR_NAME=slipway-load", "GIT_AUTHOR_EMAIL=load@slipway.invalid",
			"GIT_COMMITTER_NAME=slipway-load", "GIT_COMMITTER_EMAIL=load@slipway.invalid",
		),
		sshAddr: sshAddr,
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return nil, err
		}
	}
	if _, err := r.git(ctx, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	return r, r.commitNext(ctx)
}

// commitNext writes the next number into VERSION and commits it.
func (r *repo) commitNext(ctx context.Context) error {
	r.version++
	if err := os.WriteFile(filepath.Join(r.dir, "VERSION"), []byte(strconv.Itoa(r.version)+"\n"), 0o644); err != nil {
		return err
	}
	if _, err := r.git(ctx, "add", "-A"); err != nil {
		return err
	}
	_, err := r.git(ctx, "commit", "-q", "-m", "version "+strconv.Itoa(r.version))
	return err
}

// push pushes main to app on slipway, which deploys it before the push
// returns.
func (r *repo) push(ctx context.Context, app string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	return r.git(ctx, "push", "ssh://git@"+r.sshAddr+"/"+app, "main")
}

var deployingRE = regexp.MustCompile(` as (v\d+)`)

// deployedRelease returns the release a push's output names, or "?".
func deployedRelease(pushOutput string) string {
	if m := deployingRE.FindStringSubmatch(pushOutput); m != nil {
		return m[1]
	}
	return "?"
}

// ssh runs a slipway command over ssh with the repo's key.
func (r *repo) ssh(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	var sshCmd string
	for _, kv := range r.env {
		if v, ok := strings.CutPrefix(kv, "GIT_SSH_COMMAND="); ok {
			sshCmd = v
		}
	}
	host, port, _ := strings.Cut(r.sshAddr, ":")
	fields := strings.Fields(sshCmd)
	cmd := exec.CommandContext(ctx, fields[0], append(append(fields[1:], "-p", port, "git@"+host), args...)...)
	cmd.Env = r.env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ssh %s: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 8))
	}
	return string(out), nil
}

// git runs git in the work tree and returns its combined output.
func (r *repo) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 8))
	}
	return string(out), nil
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
