package main

import (
	"context"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway/gitserver"
)

// DefaultRemote is the git remote whose URL names the slipway and the app
// a command on a laptop is for, unless --remote names another.
const DefaultRemote = "deploy"

// sshTarget is where a command goes over ssh: a slipway host and, when the
// remote's URL names one, the app.
type sshTarget struct {
	User string // "" lets ssh choose (its config's User, else the local user)
	Host string // a name or an IP address, IPv6 without brackets
	Port string // "" lets ssh choose (its config's Port, else 22)
	App  string
}

// Destination is the target as ssh's destination argument, [user@]host.
func (t sshTarget) Destination() string {
	if t.User == "" {
		return t.Host
	}
	return t.User + "@" + t.Host
}

// hostRE and userRE are what a host and a user of a slipway remote may be.
// Neither may start with "-": ssh would take it for an option (git refuses
// such URLs for the same reason), and a repository's remote is no place
// for options.
var (
	hostRE = regexp.MustCompile(`^(?:[A-Za-z0-9_][A-Za-z0-9._-]*|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)$`)
	userRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)
)

// parseRemoteURL reads a git remote's URL as a slipway's:
// ssh://[user@]host[:port]/APP[.git] (git+ssh:// and ssh+git:// too) or
// scp-like [user@]host:APP[.git], APP a valid app name as the server reads
// it (gitserver.RepoName). Anything else (https://, a path, an owner/repo
// path) is not a slipway remote.
func parseRemoteURL(raw string) (sshTarget, bool) {
	var t sshTarget
	var path string
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		if scheme != "ssh" && scheme != "git+ssh" && scheme != "ssh+git" {
			return sshTarget{}, false
		}
		u, err := url.Parse("ssh://" + rest)
		if err != nil || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
			return sshTarget{}, false
		}
		if u.User != nil {
			if _, set := u.User.Password(); set {
				return sshTarget{}, false
			}
			t.User = u.User.Username()
		}
		t.Host, t.Port, path = u.Hostname(), u.Port(), u.Path
		if t.Port != "" {
			if n, err := strconv.Atoi(t.Port); err != nil || n < 1 || n > 65535 {
				return sshTarget{}, false
			}
		}
	} else {
		// scp-like: as git, a colon before any slash; [v6]:path for IPv6.
		hostPart := raw
		if at := strings.IndexByte(raw, '@'); at >= 0 && !strings.ContainsAny(raw[:at], ":/[") {
			t.User, hostPart = raw[:at], raw[at+1:]
		}
		var ok bool
		if v6, found := strings.CutPrefix(hostPart, "["); found {
			t.Host, path, ok = strings.Cut(v6, "]:")
		} else {
			t.Host, path, ok = strings.Cut(hostPart, ":")
		}
		if !ok || strings.Contains(t.Host, "/") {
			return sshTarget{}, false
		}
	}
	if !hostRE.MatchString(t.Host) || (t.User != "" && !userRE.MatchString(t.User)) {
		return sshTarget{}, false
	}
	app, err := gitserver.RepoName(path)
	if err != nil {
		return sshTarget{}, false
	}
	t.App = app
	return t, true
}

// gitRemoteURL is the push URL of the git remote name in the repository
// around the working directory, as `git push name` would use it (its
// pushurl, or its url, after insteadOf); "" when there is no repository,
// no such remote or no git.
func gitRemoteURL(ctx context.Context, name string) string {
	return gitOutput(ctx, "remote", "get-url", "--push", "--", name)
}

// gitOutput runs git with args and returns its output trimmed, or "" when
// it fails: the questions asked here ("is there such a remote?") have no
// answer then.
func gitOutput(ctx context.Context, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
