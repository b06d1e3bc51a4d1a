package testutil

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Timeout is how long WaitFor polls before it fails the test: long enough
// for a loaded machine, so that reaching it means the condition will not
// hold.
const Timeout = 30 * time.Second

// WaitFor polls cond until it holds, failing the test after Timeout with
// "timed out waiting for " what. It checks at once, then every millisecond
// at first and less often the longer it waits (at most every 20ms).
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// PrivateHome gives the test a HOME of its own, empty, for as long as it
// runs, and returns it: nothing the test runs reads the real user's ssh
// keys or git config. XDG_CONFIG_HOME, where git also looks, goes with it.
// Like t.Setenv, it cannot be used in a parallel test.
func PrivateHome(t testing.TB) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home+"/.config")
	return home
}

// Command is exec.Command for a program a test runs (git, ssh), killed
// when timeout has passed or the test ends, whichever is first, so that
// it can neither hang the test nor outlive it. After the kill, Wait gives
// the program's children holding its output ten seconds to let go.
func Command(t testing.TB, timeout time.Duration, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// EachHTTPServer runs test once behind each HTTP/1 server slipway can
// serve with, as the subtests "net/http" (Go's net/http server) and
// "lean" (internal/h1, slipway's own, lean true), so that a failure names
// the server it happened with.
func EachHTTPServer(t *testing.T, test func(t *testing.T, lean bool)) {
	t.Helper()
	for _, s := range []struct {
		name string
		lean bool
	}{{"net/http", false}, {"lean", true}} {
		t.Run(s.name, func(t *testing.T) { test(t, s.lean) })
	}
}

// SkipIfShortCompile skips the test under go test -short: it compiles a
// Go app, which takes long on a cold build cache. The full suite runs it.
func SkipIfShortCompile(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: compiles a Go app")
	}
}

// ProcessAlive reports whether pid is a process that runs: neither gone,
// nor a zombie, nor on its way out (the kernel's PF_EXITING, set before a
// process closes its files), going by /proc/PID/stat. A process that has
// closed a pipe by dying is no longer alive, even before it is reaped.
func ProcessAlive(t testing.TB, pid int) bool {
	t.Helper()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	// After "(comm)": state ppid pgrp session tty_nr tpgid flags …
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 7 {
		t.Fatalf("cannot parse /proc/%d/stat: %q", pid, stat)
	}
	flags, err := strconv.ParseUint(fields[6], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	const pfExiting = 0x4 // PF_EXITING in the kernel's task flags
	return fields[0] != "Z" && fields[0] != "X" && flags&pfExiting == 0
}

// RemoveUsersUnder removes, as root, the users (and their groups) whose
// HOME is below dir: the apps' users a slipway made for a test's data
// dir. userdel and groupdel are retried while another holds the passwd
// lock (their exit status 10), as tests of several packages run at once.
func RemoveUsersUnder(dir string) {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil || os.Geteuid() != 0 {
		return
	}
	for line := range strings.Lines(string(data)) {
		if f := strings.Split(line, ":"); len(f) > 5 && strings.HasPrefix(f[5], dir+"/") {
			userTool("userdel", f[0])
			userTool("groupdel", f[0])
		}
	}
}

// userTool runs a user-management command, again while the passwd lock
// is held elsewhere (exit 10, for milliseconds) or, for userdel, while a
// process of the user is still ending (exit 8: a test's cleanup can run
// while the last of its app's processes exits), for up to 10 s.
func userTool(name, arg string) {
	for attempt := 0; attempt < 500; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := exec.CommandContext(ctx, name, arg).Run()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || (exit.ExitCode() != 10 && exit.ExitCode() != 8) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
