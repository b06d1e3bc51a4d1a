package builder

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// outputGrace bounds how long a finished step waits for the rest of its
// output: a process that left the step's process group (setsid) and kept
// the output pipe open must not hang the build.
const outputGrace = 5 * time.Second

// command is one build step run as an external program.
type command struct {
	step   string   // short name for errors: "go build"
	header string   // text of the "----->" header; none when empty
	args   []string // program and arguments
	dir    string   // working directory
	env    []string // whole environment
	stdout *os.File // where stdout goes; nil means the build output
}

// run runs c in its own process group with an empty stdin, streaming its
// stdout and stderr to out line by line as they are produced. When ctx is
// done the whole process group is killed, and so is anything the step left
// running after it exited, so no orphan outlives the step.
func run(ctx context.Context, c command, out *stream, limit time.Duration) error {
	if ctx.Err() != nil {
		return interrupted(ctx, c.step, limit)
	}
	if c.header != "" {
		out.header("%s", c.header)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return failf(err, "%s: %v", c.step, err)
	}
	defer r.Close()

	cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
	// PWD: the environment is a copy of slipway's, whose PWD is elsewhere.
	cmd.Dir, cmd.Env = c.dir, append(c.env[:len(c.env):len(c.env)], "PWD="+c.dir)
	cmd.Stdout, cmd.Stderr = w, w
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	err = cmd.Start()
	w.Close() // the children hold their own copies
	if err != nil {
		return failf(err, "%s: %v", c.step, err)
	}
	// Builds yield the CPU to the apps serving requests meanwhile.
	_ = syscall.Setpriority(syscall.PRIO_PGRP, cmd.Process.Pid, BuildNice)

	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, r) // out never fails, so this reads to EOF
		close(copied)
	}()
	err = cmd.Wait()
	_ = killGroup(cmd.Process.Pid)
	// Every process of the group holds the pipe: EOF means they are gone.
	select {
	case <-copied:
	case <-time.After(outputGrace):
		r.Close()
		<-copied
	}
	out.endLine()

	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return interrupted(ctx, c.step, limit)
	}
	return failf(err, "%s: %v", c.step, err)
}

// killGroup kills the process group led by pid. A group that has already
// gone is not an error.
func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
