package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/commands"
)

// laptopOpts are slipway's own flags of a management command: -a/--app
// names the app, --remote the git remote that names the slipway, -t asks
// run (and a service's connect) for a pty.
type laptopOpts struct {
	app    string
	remote string
	pty    bool
}

// laptopCommands are the client's own commands, in no server's table:
// open is made of apps:info, remote:add of git.
var laptopCommands = []string{"open", "remote:add"}

// runLaptop runs `slipway [-a APP] [--remote NAME] COMMAND ARGS…` from a
// clone: when the git remote (deploy, or --remote NAME) is a slipway's
// (ssh://[USER@]HOST[:PORT]/APP or USER@HOST:APP), the command runs there
// over the user's own ssh, for the remote's app (or -a's), as typed. With
// no such remote it returns the arguments for the host's dispatch (the
// admin API): as given, or with -a's app put in its place; done is false
// then. open and remote:add are the client's own.
func runLaptop(ctx context.Context, args []string) (_ []string, code int, done bool) {
	var opts laptopOpts
	rest, err := takeFlags(args, &opts, "-a", "--app", "--remote")
	if err != nil {
		return nil, cliFail(err), true
	}
	given := len(rest) < len(args)
	if len(rest) == 0 || (!isManagement(rest[0]) && !slices.Contains(laptopCommands, rest[0])) {
		if given {
			return nil, cliFail(slipway.Errorf(slipway.EINVALID, "-a and --remote go before a management command: slipway -a APP COMMAND ARGS...")), true
		}
		return args, 0, false
	}
	name := rest[0]
	if rest, err = takeFlags(rest[1:], &opts, ownFlags(name)...); err != nil {
		return nil, cliFail(err), true
	}
	if name == "remote:add" {
		return nil, runRemoteAdd(ctx, opts, rest), true
	}
	var t sshTarget
	var remote string
	if opts.remote != "" || !onHost() {
		if t, remote, err = findTarget(ctx, opts.remote); err != nil {
			return nil, cliFail(err), true
		}
	}
	words, err := withApp(name, rest, opts.app, t.App)
	if err != nil {
		return nil, cliFail(err), true
	}
	if remote == "" { // no slipway remote: the admin API on this host, as before
		if opts.pty {
			return nil, cliFail(slipway.Errorf(slipway.EINVALID, "-t needs ssh, which gives the terminal: ssh -t -p 2222 git@localhost %s", strings.Join(words, " "))), true
		}
		if name == "open" {
			return nil, runOpen(ctx, words[1:], adminInfo), true
		}
		return words, 0, false
	}
	if name == "open" {
		return nil, runOpen(ctx, words[1:], sshInfo(t)), true
	}
	c, _ := commands.Find(name)
	line, err := quoteCommand(words)
	if err != nil {
		return nil, cliFail(err), true
	}
	code, err = runSSH(ctx, t, line, sshIO{pty: opts.pty, stdin: c.ReadsInput()})
	if err != nil {
		return nil, cliFail(err), true
	}
	if name == "logs" && interrupted(ctx, code) { // Ctrl-C ends logs -t, as on the host
		return nil, 0, true
	}
	return nil, code, true
}

// isManagement reports whether name is a management command the client
// sends on: every one of the table but help and version, which it answers
// itself.
func isManagement(name string) bool {
	_, ok := commands.Find(name)
	return ok && name != "help" && name != "version"
}

// ownFlags are the flags of slipway's own that may follow command name,
// before its arguments: the app's, where it takes one (a flag of the
// command's own, such as ssh-keys:add's --app, is left to it), and the
// pty for the commands that attach a terminal.
func ownFlags(name string) []string {
	flags := []string{"--remote"}
	if takesApp(name) {
		flags = append(flags, "-a", "--app")
	}
	if name == "run" || strings.HasSuffix(name, ":connect") {
		flags = append(flags, "-t")
	}
	return flags
}

// takeFlags takes the flags of allowed off the front of args into opts,
// as "-a APP" or "-a=APP" (-t takes no value), and returns the rest: it
// stops at the first other word, "--" included, which is the command's.
func takeFlags(args []string, opts *laptopOpts, allowed ...string) ([]string, error) {
	for len(args) > 0 {
		flag, value, hasValue := strings.Cut(args[0], "=")
		if !slices.Contains(allowed, flag) {
			return args, nil
		}
		args = args[1:]
		if flag == "-t" {
			if hasValue {
				return nil, slipway.Errorf(slipway.EINVALID, "-t takes no value")
			}
			opts.pty = true
			continue
		}
		if !hasValue {
			if len(args) == 0 {
				return nil, slipway.Errorf(slipway.EINVALID, "%s needs a value: %s %s", flag, flag, valueName(flag))
			}
			value, args = args[0], args[1:]
		}
		switch flag {
		case "--remote":
			if value == "" || strings.HasPrefix(value, "-") {
				return nil, slipway.Errorf(slipway.EINVALID, "--remote needs a git remote's name, such as deploy (git remote -v lists them)")
			}
			opts.remote = value
		default:
			if err := slipway.ValidateAppName(value); err != nil {
				return nil, err
			}
			opts.app = value
		}
	}
	return args, nil
}

// valueName names the value of one of slipway's own flags, for usage.
func valueName(flag string) string {
	if flag == "--remote" {
		return "NAME"
	}
	return "APP"
}

// takesApp reports whether command name acts on an app named by its first
// argument: its usage starts with "NAME" (or apps:rename's "OLD"), but for
// the commands whose NAME is a key's (ssh-keys:*) or a backing service's
// (postgres:*, redis:*). The client's open takes one too.
func takesApp(name string) bool {
	if name == "open" {
		return true
	}
	c, ok := commands.Find(name)
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(c.Usage, c.Name+" "), " ")
	if first != "NAME" && first != "OLD" {
		return false
	}
	prefix, _, _ := strings.Cut(name, ":")
	return prefix != "ssh-keys" && !slices.Contains(slipway.ServiceKinds, slipway.ServiceKind(prefix))
}

// withApp is command name with its arguments and the app in its place,
// first: -a's app (flagApp), else the remote's (remoteApp); with neither,
// the arguments as typed (on the host, NAME among them).
func withApp(name string, args []string, flagApp, remoteApp string) ([]string, error) {
	app := firstOf(flagApp, remoteApp)
	if !takesApp(name) {
		if flagApp != "" {
			return nil, slipway.Errorf(slipway.EINVALID, "%s acts on no app: run it without -a", name)
		}
		app = ""
	}
	words := []string{name}
	if app != "" {
		words = append(words, app)
	}
	return append(words, args...), nil
}

// firstOf is the first of a and b that is not empty.
func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// findTarget finds the slipway that commands go to: the git remote
// remote's (DefaultRemote when ""), and its name. With no remote asked
// for and none that is a slipway's, it returns "" and no error: the
// command runs on this host. A remote asked for must be a slipway's.
func findTarget(ctx context.Context, remote string) (sshTarget, string, error) {
	name := firstOf(remote, DefaultRemote)
	url := gitRemoteURL(ctx, name)
	t, ok := parseRemoteURL(url)
	switch {
	case ok:
		return t, name, nil
	case remote == "":
		return sshTarget{}, "", nil
	case url == "":
		return sshTarget{}, "", slipway.Errorf(slipway.ENOTFOUND, "no git remote %q here: git remote -v lists them; slipway remote:add HOST adds one", remote)
	}
	return sshTarget{}, "", slipway.Errorf(slipway.EINVALID, "git remote %q is %s, not a slipway's: slipway needs ssh://[USER@]HOST[:PORT]/APP or USER@HOST:APP", remote, slipway.OneLine(url, 100))
}

// onHost reports whether this is slipway's host: the admin API is
// configured (SLIPWAY_ADMIN_ADDR or SLIPWAY_ADMIN_TOKEN set) or its token
// is readable in the data dir. There commands keep going to the admin
// API as typed, NAME included, even from a clone with a slipway remote:
// an operator's `slipway config:unset blog KEY` in shop's clone must not
// become shop's. --remote NAME still goes over ssh.
func onHost() bool {
	if os.Getenv("SLIPWAY_ADMIN_ADDR") != "" || os.Getenv("SLIPWAY_ADMIN_TOKEN") != "" {
		return true
	}
	f, err := os.Open(filepath.Join(envOr("SLIPWAY_DATA", DefaultDataDir), "admin_token"))
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// laptopUsage is the usage text's part on commands from a clone.
var laptopUsage = `
From a clone of an app, on a laptop, over your own ssh:
  slipway COMMAND ARGS...    in a git repository whose remote deploy (or --remote NAME) is
                             ssh://[USER@]HOST[:PORT]/APP or USER@HOST:APP, runs the command
                             on HOST for APP with ssh (its config and keys; GIT_SSH_COMMAND as
                             for git push), NAME left out: slipway config:set 'A=a b c';
                             -a APP names another app; arguments arrive exactly as typed
  slipway run -t bash        run with a pty (ssh -t); without -t, none
  slipway open               print the app's URL (and open it in a browser on a terminal)
  slipway remote:add HOST[:PORT] [APP]
                             add the remote deploy = ssh://git@HOST[:PORT]/APP (APP: the
                             repository directory's name made an app name)
On the host (SLIPWAY_ADMIN_ADDR or _TOKEN set, or DATA/admin_token readable) commands go
to the admin API as typed, NAME included, even in a clone; -a APP stands for NAME there.
docs/cli.md says more.
`
