package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// shellLine runs line, a command as the README writes it for a user's
// shell, through /bin/sh: `ssh -p 2222 git@HOST ...` reaches this test's
// slipway with its key.
func (s *server) shellLine(line string) (string, error) {
	ssh := sshCommand(s.key) + " -p " + s.sshPort()
	line = strings.Replace(line, "ssh -p 2222 git@HOST", ssh+" git@127.0.0.1", 1)
	cmd := testutil.Command(s.t, 2*time.Minute, "/bin/sh", "-c", line)
	cmd.Env = append(cmd.Environ(), "HOME="+s.home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The README's forms work as a shell delivers them: run's command is a
// script for the app's shell, and *.example.org needs no quoting on the
// server; what stays ambiguous is refused with the words slipway got.
func TestShell_TheREADMEFormsWorkAsTyped(t *testing.T) {
	s := startServer(t)
	s.mustGit(s.newApp(staticApp("v1")), "push", s.remote("shop"), "main")

	out, err := s.shellLine(`ssh -p 2222 git@HOST run shop 'echo $DYNO && ls'`)
	if err != nil || !regexp.MustCompile(`(?m)^run\.\d+$`).MatchString(out) || !strings.Contains(out, "index.html") {
		t.Errorf("run shop 'echo $DYNO && ls': %v\n%s", err, out)
	}
	if out, err := s.shellLine(`ssh -p 2222 git@HOST domains:add shop '*.example.org'`); err != nil {
		t.Fatalf("domains:add: %v\n%s", err, out)
	}
	if out, err := s.shellLine(`ssh -p 2222 git@HOST domains:remove shop '*.example.org'`); err != nil {
		t.Errorf("domains:remove shop '*.example.org': %v\n%s", err, out)
	}
	if out := s.mustSSH("domains", "shop"); strings.Contains(out, "example.org") {
		t.Errorf("the wildcard is still routed:\n%s", out)
	}
	out, err = s.shellLine(`ssh -p 2222 git@HOST 'config:set shop A=1; config:set shop B=2'`)
	if err == nil || !strings.Contains(out, "slipway received: config:set shop A=1; config:set shop B=2") {
		t.Errorf("an ambiguous command: %v\n%s", err, out)
	}
}
