package e2e

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestLogs_ShowsAndFollowsAcrossDeploys(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("logged"))
	s.mustGit(dir, "push", "deploy", "main")
	s.wantServes("logged", "/", "hello from v1")

	var out string
	waitFor(t, "the request to show in the log", func() bool {
		out, _ = s.ssh(s.key, "logs", "logged", "-n", "5")
		return strings.Contains(out, `"GET / HTTP/1.1" 200`)
	})
	if !strings.Contains(out, " web.1 v1: ") {
		t.Errorf("log lines lack the instance and release prefix:\n%s", out)
	}
	if out, _ := s.ssh(s.key, "logs", "logged", "-p", "worker"); strings.Contains(out, "web.1") {
		t.Errorf("-p worker shows web lines:\n%s", out)
	}

	// -t follows the log across a deploy.
	follow := s.sshCmd(nil, "logs", "logged", "-t", "-n", "1")
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { follow.Process.Kill(); follow.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	s.commit(dir, "v2", staticApp("v2"))
	s.mustGit(dir, "push", "deploy", "main")
	s.get("logged", "/v2-was-here")
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("logs -t ended before showing the new release's request")
			}
			if strings.Contains(l, " v2: ") && strings.Contains(l, "/v2-was-here") {
				return
			}
		case <-deadline:
			t.Fatal("logs -t did not show the new release's request within 20s")
		}
	}
}
