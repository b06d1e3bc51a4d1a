package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/slipway/slipway/supervisor"
)

// sshIO is how a command over ssh meets this terminal.
type sshIO struct {
	pty   bool      // ask for a pty (ssh -t); else none (ssh -T)
	stdin bool      // pass standard input on; else ssh reads none (-n)
	out   io.Writer // its standard output; nil for this one's
}

// runSSH runs the command line on t's slipway with the user's ssh client
// (sshProgram) and returns its exit status: the remote command's, or
// ssh's own 255 when it could not connect (it said why on standard
// error). SIGINT and SIGTERM reach ssh as they would from a terminal:
// ctx ending sends it SIGTERM, so that it puts the terminal back.
func runSSH(ctx context.Context, t sshTarget, line string, via sshIO) (int, error) {
	prog := sshProgram(ctx)
	cmd := exec.CommandContext(ctx, prog[0], append(prog[1:], sshArgs(t, line, via)...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if via.out != nil {
		cmd.Stdout = via.out
	}
	if via.stdin {
		cmd.Stdin = os.Stdin
	}
	status, err := supervisor.ExitStatus(cmd.Run())
	if err == nil {
		return status, nil
	}
	return 0, fmt.Errorf("cannot run %s: %w (install OpenSSH's client, or set GIT_SSH_COMMAND)", prog[0], err)
}

// interrupted reports whether a command that ended with code ended
// because slipway was interrupted (Ctrl-C): ctx ended. The terminal
// signals ssh too, which may end first (with 255, or killed by the
// signal), so that code waits a moment for ctx to hear of it.
func interrupted(ctx context.Context, code int) bool {
	if code != 255 && code != 128+int(syscall.SIGINT) && code != 128+int(syscall.SIGTERM) {
		return ctx.Err() != nil
	}
	select {
	case <-ctx.Done():
		return true
	case <-time.After(time.Second):
		return false
	}
}

// sshArgs are the arguments of OpenSSH's client that run line on t: -p
// only when the remote's URL has a port, so that ~/.ssh/config's Port
// counts otherwise, and "--" before the destination.
func sshArgs(t sshTarget, line string, via sshIO) []string {
	var args []string
	if t.Port != "" {
		args = append(args, "-p", t.Port)
	}
	if via.pty {
		args = append(args, "-t")
	} else {
		args = append(args, "-T")
	}
	if !via.stdin {
		args = append(args, "-n")
	}
	return append(args, "--", t.Destination(), line)
}

// sshProgram is the ssh client to run, picked as git push picks it, so
// that slipway reaches the host as the user's pushes do: GIT_SSH_COMMAND,
// else git's core.sshCommand (each a shell command line, run by sh with
// the arguments after it, as git runs it), else GIT_SSH (a program), else
// ssh from PATH. Each must take OpenSSH's options.
func sshProgram(ctx context.Context) []string {
	line := os.Getenv("GIT_SSH_COMMAND")
	if line == "" {
		line = gitOutput(ctx, "config", "--get", "core.sshCommand")
	}
	if line != "" {
		return []string{"/bin/sh", "-c", line + ` "$@"`, line}
	}
	if prog := os.Getenv("GIT_SSH"); prog != "" {
		return []string{prog}
	}
	return []string{"ssh"}
}
