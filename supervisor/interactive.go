package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/creack/pty"

	"github.com/slipway/slipway"
)

// WindowSize and Terminal are the domain's (slipway.Terminal): what a
// one-off process is attached to.
type (
	WindowSize = slipway.WindowSize
	Terminal   = slipway.Terminal
)

// Interactive runs argv in s's environment, directory, sandbox and
// cgroup, attached to t, until it exits or ctx is done (the caller went
// away: the whole process group is killed), and returns its exit status.
// Its start and end are the caller's to log.
func Interactive(ctx context.Context, s Spec, argv []string, t Terminal) (int, error) {
	tmp, err := makeTmp(s.TmpDir)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	term := t.Term
	if term == "" {
		term = "xterm"
	}
	var l *launch
	// runc runs argv in the image, its stdio passed through, or on a
	// terminal of the container's own that runc copies to and from t's.
	if s.Image != nil {
		im := *s.Image
		im.Args = argv
		s.Image = &im
		if t.Pty {
			s.Env = append(s.Env[:len(s.Env):len(s.Env)], "TERM="+term)
		}
		l, err = startImage(s, tmp, t.Pty)
		defer os.RemoveAll(bundleDir(tmp))
	} else {
		l, err = command(context.Background(), s.Sandbox, tmp, argv)
	}
	if err != nil {
		return 0, err
	}
	if l.group != nil {
		defer l.group.delete() // whatever it left running
	}
	if s.Image != nil {
		id := l.cmd.Args[len(l.cmd.Args)-1]
		defer func() { // runc removes it as it ends, unless it was killed
			if _, err := os.Stat(filepath.Join(s.Image.stateDir(), id)); err == nil {
				deleteContainer(s.Image, id)
			}
		}()
	}
	cmd := l.cmd
	env := append(s.Env[:len(s.Env):len(s.Env)], "TMPDIR="+tmp)
	if s.Image == nil {
		cmd.Dir = s.Dir
	}
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Setsid = false, true
	var master, tty *os.File
	if t.Pty {
		m, slave, err := pty.Open()
		if err != nil {
			l.abort()
			return 0, fmt.Errorf("open a terminal: %w", err)
		}
		defer m.Close()
		defer slave.Close()
		tty = slave
		if t.Size.Cols > 0 && t.Size.Rows > 0 {
			pty.Setsize(m, &pty.Winsize{Cols: uint16(t.Size.Cols), Rows: uint16(t.Size.Rows)})
		}
		env = append(env, "TERM="+term)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0 // the child's stdin
		master = m
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = t.Stdin, t.Stdout, t.Stderr
	}
	if s.Image == nil { // runc's is set: the container's is in its bundle
		l.setEnv(env)
	}
	if err := cmd.Start(); err != nil {
		l.abort()
		return 0, fmt.Errorf("start: %w", err)
	}
	if err := l.started(); err != nil {
		cmd.Wait()
		return 0, err
	}
	var copies sync.WaitGroup
	if master != nil {
		go io.Copy(master, t.Stdin) // ends with the caller's input or the terminal
		copies.Go(func() { io.Copy(t.Stdout, master) })
		if t.Resize != nil {
			go func() {
				for size := range t.Resize {
					pty.Setsize(master, &pty.Winsize{Cols: uint16(size.Cols), Rows: uint16(size.Rows)})
				}
			}()
		}
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-exited:
	case <-ctx.Done(): // the caller went away
		killGroup(cmd.Process.Pid)
		werr = <-exited
	}
	killGroup(cmd.Process.Pid) // what it left running
	if master != nil {
		// With the last terminal end closed, the rest of the output is read
		// and then the copy ends.
		tty.Close()
		copies.Wait()
		master.Close()
	}
	return ExitStatus(werr)
}

// ExitStatus is a shell's $? of a command that Wait or Run ended with
// err: 0, its exit code, or 128 plus the signal that killed it; an error
// that is no exit (the command could not start) is returned.
func ExitStatus(err error) (int, error) {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, err
}
