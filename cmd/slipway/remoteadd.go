package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/slipway/slipway"
)

// remoteAddUsage is remote:add's usage.
const remoteAddUsage = "remote:add HOST[:PORT] [APP] [--remote NAME]"

// runRemoteAdd is `slipway remote:add HOST[:PORT] [APP]`: it adds the git
// remote deploy (or --remote NAME) = ssh://git@HOST[:PORT]/APP to the
// repository here, APP by default its directory's name made an app name
// (or -a's). It never changes a remote that is there.
func runRemoteAdd(ctx context.Context, opts laptopOpts, args []string) int {
	if slices.Contains(args, "-h") || slices.Contains(args, "--help") {
		fmt.Printf("Usage: slipway %s\n\nadd the git remote %s (or NAME) = ssh://git@HOST[:PORT]/APP; APP: this repository's directory name\n", remoteAddUsage, DefaultRemote)
		return 0
	}
	if len(args) < 1 || len(args) > 2 || (len(args) == 2 && opts.app != "" && opts.app != args[1]) {
		fmt.Fprintf(os.Stderr, "slipway: usage: slipway %s\n", remoteAddUsage)
		return 2
	}
	top := gitOutput(ctx, "rev-parse", "--show-toplevel")
	if top == "" {
		return cliFail(slipway.Errorf(slipway.EINVALID, "not in a git repository: cd into your app's, or git init one"))
	}
	app := opts.app
	if len(args) == 2 {
		app = args[1]
	}
	if app == "" {
		if app = appNameOf(filepath.Base(top)); app == "" {
			return cliFail(slipway.Errorf(slipway.EINVALID, "cannot make an app name of the directory %q: name it, slipway remote:add %s APP", filepath.Base(top), args[0]))
		}
	}
	url, err := remoteURL(args[0], app)
	if err != nil {
		return cliFail(err)
	}
	name := firstOf(opts.remote, DefaultRemote)
	if old := gitRemoteURL(ctx, name); old != "" {
		return cliFail(slipway.Errorf(slipway.ECONFLICT, "the git remote %s is there already (%s): to change it, git remote set-url %s %s", name, slipway.OneLine(old, 100), name, url))
	}
	out, err := exec.CommandContext(ctx, "git", "remote", "add", "--", name, url).CombinedOutput()
	if err != nil {
		return cliFail(fmt.Errorf("git remote add %s %s: %s", name, url, strings.TrimSpace(string(out))))
	}
	fmt.Printf("Added the git remote %s = %s: git push %s main deploys %s, and slipway COMMAND here acts on it.\n", name, url, name, app)
	return 0
}

// remoteURL is the slipway URL of app on host, HOST or HOST:PORT (with an
// IPv6 address in brackets, [::1]:2222), USER@ before it when the ssh
// user is not git.
func remoteURL(host, app string) (string, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return "", err
	}
	user, h, found := strings.Cut(host, "@")
	if !found {
		user, h = "git", host
	}
	url := "ssh://" + user + "@" + h + "/" + app
	if t, ok := parseRemoteURL(url); !ok || t.App != app || strings.Contains(h, "@") {
		return "", slipway.Errorf(slipway.EINVALID, "%q is not a host: give HOST or HOST:PORT, such as example.com or example.com:2222", slipway.OneLine(host, 100))
	}
	return url, nil
}

// appNameOf makes name an app name as well as it can: lower case, every
// run of other characters a dash, starting with a letter, at most 63
// characters; "" when nothing is left.
func appNameOf(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		switch {
		case 'a' <= c && c <= 'z' || b.Len() > 0 && '0' <= c && c <= '9':
			if dash {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
		case b.Len() > 0:
			dash = true
		}
	}
	s := b.String()
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}
