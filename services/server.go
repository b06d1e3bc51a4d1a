package services

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// Server is what this package knows of one kind of server.
type Server interface {
	Kind() slipway.ServiceKind
	// Version returns the major version want names on this host ("" for
	// the newest installed), or an error saying what is installed and
	// what to install.
	Version(want string) (string, error)
	// Init makes a new service's data dir (empty, the service user's) and
	// whatever the server reads at start, running the server's own tools
	// as the service's user through h.
	Init(ctx context.Context, h Host, svc *slipway.BackingService, out io.Writer) error
	// Command is the server's command line (run by /bin/sh; no secret in
	// it, since every user of the host may read it).
	Command(h Host, svc *slipway.BackingService) (string, error)
	// StopSignal is what stops the server cleanly.
	StopSignal() syscall.Signal
	// Ready returns nil once the server accepts the service's password.
	Ready(ctx context.Context, svc *slipway.BackingService) error
	// Setup runs once after the first start (PostgreSQL: the service's
	// database).
	Setup(ctx context.Context, h Host, svc *slipway.BackingService) error
	// Backup writes a backup of the running server to path and checks
	// that it reads back.
	Backup(ctx context.Context, h Host, svc *slipway.BackingService, path string) error
	// BackupExt is the backups' file extension (".dump", ".rdb").
	BackupExt() string
	// Client is the interactive client's argv and its extra environment.
	Client(h Host, svc *slipway.BackingService) ([]string, []string, error)
}

// Host is where a service's processes run: its directories and sandbox.
type Host struct {
	Layout slipway.Layout
	// Sandbox is the service user's sandbox (identity, launcher, cgroup
	// and limits); nil runs as slipway itself.
	Sandbox *supervisor.Sandbox
}

// For returns the server of kind.
func For(kind slipway.ServiceKind) (Server, error) {
	switch kind {
	case slipway.Postgres:
		return postgres{}, nil
	case slipway.Redis:
		return redis{}, nil
	}
	return nil, slipway.Errorf(slipway.EINVALID, "unknown kind of service %q: postgres or redis", slipway.OneLine(string(kind), 20))
}

// toolTimeout bounds a server tool that is not streaming user data
// (initdb, a probe, a small SQL statement).
const toolTimeout = 2 * time.Minute

// run runs argv as the service's user, sandboxed to its data and tmp,
// with env added to a minimal environment; in, when set, is its stdin and
// stdout, when set, gets its standard output (else it goes to out with
// standard error).
func (h Host) run(ctx context.Context, svc *slipway.BackingService, argv, env []string, in io.Reader, stdout io.Writer, out io.Writer) error {
	c := supervisor.Command{
		Args:    argv,
		Dir:     h.Layout.ServiceDir(svc.Name),
		Env:     h.env(svc, env...),
		Sandbox: h.toolSandbox(svc),
		TmpDir:  h.Layout.ServiceTmp(svc.Name) + "-tool",
		Stdin:   in,
	}
	if stdout == nil {
		return supervisor.Run(ctx, c, out)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	c.Stdout = w
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(stdout, r)
		if err != nil {
			io.Copy(io.Discard, r) // the tool must not block on a full pipe
		}
		r.Close()
		copied <- err
	}()
	err = supervisor.Run(ctx, c, out)
	w.Close()
	if cerr := <-copied; err == nil && cerr != nil {
		err = fmt.Errorf("write the output: %w", cerr)
	}
	return err
}

// toolSandbox is the sandbox of the server's tools: the server's, without
// its cgroup (a dump must not be killed for the server's memory) and
// binding no port.
func (h Host) toolSandbox(svc *slipway.BackingService) *supervisor.Sandbox {
	if h.Sandbox == nil {
		return nil
	}
	sb := *h.Sandbox
	sb.Cgroup, sb.Ports = "", nil
	return &sb
}

// env is the whole environment of the service's processes.
func (h Host) env(svc *slipway.BackingService, extra ...string) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + h.Layout.ServiceData(svc.Name),
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"USER=slipway-" + fmt.Sprint(svc.UID),
	}
	return append(env, extra...)
}

// Spec is the supervisor's spec of svc's server process.
func (h Host) Spec(srv Server, svc *slipway.BackingService) (supervisor.Spec, error) {
	cmd, err := srv.Command(h, svc)
	if err != nil {
		return supervisor.Spec{}, err
	}
	var sb *supervisor.Sandbox
	if h.Sandbox != nil {
		c := *h.Sandbox
		c.Ports = []int{svc.Port}
		sb = &c
	}
	return supervisor.Spec{
		ID:         string(svc.Kind),
		Command:    "exec " + cmd,
		Dir:        h.Layout.ServiceData(svc.Name),
		Env:        h.env(svc),
		TmpDir:     h.Layout.ServiceTmp(svc.Name),
		LogPath:    h.Layout.ServiceLog(svc.Name),
		Sandbox:    sb,
		StopSignal: srv.StopSignal(),
	}, nil
}

// toolError is the one line a failed tool's output comes to: its last
// line that says something, without the tool's name prefix.
func toolError(what string, err error, output string) error {
	line := ""
	for _, l := range strings.Split(strings.TrimSpace(output), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			line = l
		}
	}
	for _, p := range []string{"pg_restore: error: ", "pg_dump: error: ", "psql: error: ", "initdb: error: ", "error: "} {
		line = strings.TrimPrefix(line, p)
	}
	var exit interface{ ExitCode() int }
	switch {
	case line != "":
		return slipway.Errorf(slipway.EINVALID, "%s: %s", what, slipway.OneLine(line, 200))
	case errors.As(err, &exit):
		return slipway.Errorf(slipway.EINVALID, "%s: %v", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// newest returns the highest of versions, compared as numbers.
func newest(versions []string) string {
	best := ""
	for _, v := range versions {
		if best == "" || versionLess(best, v) {
			best = v
		}
	}
	return best
}

func versionLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// syncDir flushes everything written below dir to its disk (initdb ran
// with --no-sync: one syncfs instead of thousands of fsyncs).
func syncDir(dir string) error {
	f, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
