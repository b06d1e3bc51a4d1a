// Launching a command, for Start, Run and Interactive: in a process group
// of its own, inside its sandbox when it has one (the re-executed
// launcher), and in a cgroup of its own when the sandbox names one and the
// host has cgroups, the launcher held until it is in it; and the TMPDIR
// each start gets.

package supervisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// launch is a command being started: its exec.Cmd and, when it has a
// cgroup, the cgroup and the pipe that holds the sandbox launcher until
// it is in it.
type launch struct {
	cmd       *exec.Cmd
	sandboxed bool // cmd is the sandbox launcher
	group     *group
	hold      *os.File // the write end; the launcher waits for one byte
	holdR     *os.File // the read end, the launcher's fd 3
}

// setEnv gives the command env. A sandbox launcher gets it hidden from
// its own dynamic loader and Go runtime (sealEnv): the launcher runs
// before the sandbox is in place, so an app's LD_PRELOAD or
// GLIBC_TUNABLES must reach only the app's program.
func (l *launch) setEnv(env []string) {
	if l.sandboxed {
		env = sealEnv(env)
	}
	l.cmd.Env = env
}

// command returns the launch of argv in its own process group, inside sb
// when it is set, with tmp as its TMPDIR (made the sandboxed identity's
// own) and, when sb names a cgroup and the host has them, in a cgroup of
// its own with sb's limits.
func command(ctx context.Context, sb *Sandbox, tmp string, argv []string) (*launch, error) {
	if sb == nil {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return &launch{cmd: cmd}, nil
	}
	if tmp != "" {
		sb = sb.withTmp(tmp)
		if sb.UID != 0 {
			if err := os.Chown(tmp, int(sb.UID), int(sb.GID)); err != nil {
				return nil, err
			}
		}
	}
	l := &launch{}
	if sb.Cgroup != "" && cgroupsAvailable() {
		g, err := newGroup(sb.Cgroup+"."+strconv.FormatInt(time.Now().UnixNano(), 36), sb.Limits)
		if err != nil {
			return nil, err
		}
		r, w, err := os.Pipe()
		if err != nil {
			g.delete()
			return nil, err
		}
		c := *sb
		c.Hold = true
		sb, l.group, l.hold, l.holdR = &c, g, w, r
	}
	full, attr, err := sb.launch(argv)
	if err != nil {
		l.abort()
		return nil, err
	}
	l.cmd = exec.CommandContext(ctx, full[0], full[1:]...)
	l.cmd.SysProcAttr, l.sandboxed = attr, true
	if l.holdR != nil {
		l.cmd.ExtraFiles = []*os.File{l.holdR} // fd 3 of the launcher
	}
	return l, nil
}

// started puts the started launcher into its cgroup and lets it go on.
func (l *launch) started() error {
	if l.group == nil {
		return nil
	}
	l.holdR.Close()
	defer l.hold.Close()
	if err := l.group.add(l.cmd.Process.Pid); err != nil {
		l.cmd.Process.Kill()
		return fmt.Errorf("put the process in its cgroup: %w", err)
	}
	_, err := l.hold.Write([]byte{1})
	return err
}

// abort undoes what command made when the process did not start.
func (l *launch) abort() {
	if l.group != nil {
		l.hold.Close()
		l.holdR.Close()
		l.group.delete()
	}
}

// makeTmp makes a fresh directory (mode 0700) next to name, with its name
// as prefix: one process's TMPDIR.
func makeTmp(name string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(filepath.Dir(name), filepath.Base(name)+".")
}
