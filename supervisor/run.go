package supervisor

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// OutputGrace bounds how long a finished command waits for the rest of its
// output: a process that left the command's process group (setsid) and
// kept the output pipe open must not hang the caller.
const OutputGrace = 5 * time.Second

// Command is a program run to completion: a build step.
type Command struct {
	Args []string // program and arguments
	Dir  string   // working directory
	Env  []string // whole environment (AppEnv)
	// Stdout, when set, gets standard output instead of out.
	Stdout *os.File
	// Stdin, when set, is the command's standard input; else it is empty.
	Stdin io.Reader
	// Nice is the scheduling priority of the command's process group.
	Nice int
	// Sandbox, when set, confines the command; nil runs it as slipway.
	Sandbox *Sandbox
	// TmpDir, when set, names the command's TMPDIR as Spec.TmpDir does:
	// made fresh for the run and removed after it.
	TmpDir string
}

// Run runs c in its own process group (stdin empty unless c.Stdin), copying its
// stdout and stderr to out as they are produced. When ctx is done the
// whole process group is killed, and so is anything the command left
// running after it exited, so no orphan outlives it. The error is
// exec's: the caller knows what the command was for.
func Run(ctx context.Context, c Command, out io.Writer) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()

	env := append(c.Env[:len(c.Env):len(c.Env)], "PWD="+c.Dir) // an inherited PWD is elsewhere
	tmp := ""
	if c.TmpDir != "" {
		if tmp, err = makeTmp(c.TmpDir); err != nil {
			w.Close()
			return err
		}
		defer os.RemoveAll(tmp)
		env = append(env, "TMPDIR="+tmp)
	}
	l, err := command(ctx, c.Sandbox, tmp, c.Args)
	if err != nil {
		w.Close()
		return err
	}
	if l.group != nil {
		defer l.group.delete() // whatever the command left running, detached or not
	}
	cmd := l.cmd
	cmd.Dir = c.Dir
	l.setEnv(env)
	cmd.Stdout, cmd.Stderr = w, w
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	cmd.Stdin = c.Stdin
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	err = startNiced(cmd, c.Nice)
	w.Close() // the children hold their own copies
	if err != nil {
		l.abort()
		return err
	}
	if err := l.started(); err != nil {
		cmd.Wait()
		return err
	}

	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, r)
		close(copied)
	}()
	err = cmd.Wait()
	_ = killGroup(cmd.Process.Pid)
	// Every process of the group holds the pipe: EOF means they are gone.
	select {
	case <-copied:
	case <-time.After(OutputGrace):
		r.Close()
		<-copied
	}
	return err
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

// startNiced starts cmd with scheduling priority nice from its first
// instruction: the fork happens on a thread of its own whose nice value is
// set first (on Linux a nice value is per thread and inherited). The
// thread is never unlocked, so it ends with its goroutine and the raised
// value never reaches other goroutines.
func startNiced(cmd *exec.Cmd, nice int) error {
	if nice == 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, 0, nice)
		errc <- cmd.Start()
	}()
	return <-errc
}
