package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// sshCmd is the ssh command that runs command on s, with extra ssh
// options first (-tt for a terminal), killed after five minutes (a
// deploy's worth) or when the test ends.
func (s *server) sshCmd(opts []string, command ...string) *exec.Cmd {
	args := append(strings.Fields(sshCommand(s.key))[1:], opts...)
	args = append(args, "-p", s.sshPort(), "git@127.0.0.1")
	cmd := testutil.Command(s.t, 5*time.Minute, "ssh", append(args, command...)...)
	cmd.Env = append(os.Environ(), "HOME="+s.home)
	return cmd
}

// run runs a one-off process in the live release, with the app's config
// and DYNO=run.N, its input, output and exit status passed through ssh, a
// pty when the client asks for one, recorded in the app's logs; the
// client going away ends it.
func TestRun_OneOffProcess(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("shop"), "main")
	s.ssh(s.key, "config:set", "shop", "GREETING=hi")

	cmd := s.sshCmd(nil, "run", "shop", "--", "python3", "-c",
		`'import os, sys; print(os.environ["DYNO"], os.environ["GREETING"], os.path.exists("index.html")); sys.exit(3)'`)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !strings.Contains(string(out), "run.") || !strings.Contains(string(out), "hi True") || !errorsAs(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("run with an exit status: %v\n%s", err, out)
	}

	cmd = s.sshCmd(nil, "run", "shop", "cat")
	cmd.Stdin = strings.NewReader("from stdin\n")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "from stdin\n" {
		t.Errorf("run cat: %v %q", err, out)
	}

	cmd = s.sshCmd([]string{"-tt"}, "run", "shop", "--", "python3", "-c", `'import os; print("tty", os.isatty(0), os.environ["TERM"])'`)
	cmd.Env = append(cmd.Env, "TERM=vt100")
	cmd.Stdin = strings.NewReader("")
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tty True vt100") {
		t.Errorf("run with a terminal: %v %q", err, out)
	}

	logs, _ := s.ssh(s.key, "logs", "shop", "-n", "100")
	if !strings.Contains(logs, "started by id_ed25519@e2e") || !strings.Contains(logs, "exited with status 3") {
		t.Errorf("the app log does not record the runs:\n%s", logs)
	}

	cmd = s.sshCmd(nil, "run", "shop", "sleep 4747")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the one-off process", func() bool { return s.countRunning("sleep 4747") > 0 })
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, "the one-off process to end with its client", func() bool { return s.countRunning("sleep 4747") == 0 })
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// run:detached runs a command in the background; its output and how it
// ended go to the app's log.
func TestRun_Detached(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("bg"), "main")
	out, err := s.ssh(s.key, "run:detached", "bg", "'echo background work; exit 4'")
	if err != nil || !strings.Contains(out, "in the background") {
		t.Fatalf("run:detached: %v\n%s", err, out)
	}
	waitFor(t, "the detached run in the log", func() bool {
		logs, _ := s.ssh(s.key, "logs", "bg", "-n", "100")
		return strings.Contains(logs, ": background work") && strings.Contains(logs, "exited with status 4")
	})
}
