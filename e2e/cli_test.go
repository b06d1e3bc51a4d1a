package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/slipway/slipway/internal/testutil"
)

// laptop is a user's machine with the slipway binary and OpenSSH: a HOME
// of its own whose ~/.ssh/config alone says how to reach the test's
// slipway, as the host alias slipway-e2e (its port, user and key) and as
// 127.0.0.1 (its key, for URLs with the port); no GIT_SSH_COMMAND, no
// admin API.
type laptop struct {
	t   *testing.T
	env []string
}

func newLaptop(t *testing.T, s *server) *laptop {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`Host slipway-e2e
  HostName 127.0.0.1
  Port %s
  User git
Host slipway-e2e 127.0.0.1
  IdentityFile %s
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
`, s.sshPort(), s.key)
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// OpenSSH finds ~/.ssh in the user's passwd entry, whatever HOME says:
	// the ssh first in the laptop's PATH is OpenSSH's, told where the
	// user's config is, as its home would.
	ssh, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(home, "bin")
	wrapper := "#!/bin/sh\nexec " + ssh + " -F " + filepath.Join(home, ".ssh", "config") + " \"$@\"\n"
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "GIT_SSH_COMMAND" && k != "GIT_SSH" && k != "PATH" && !strings.HasPrefix(k, "SLIPWAY_") {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "PATH="+bin+":"+os.Getenv("PATH"), "XDG_CONFIG_HOME="+home+"/.config", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Laptop User", "GIT_AUTHOR_EMAIL=laptop@example.com",
		"GIT_COMMITTER_NAME=Laptop User", "GIT_COMMITTER_EMAIL=laptop@example.com",
		// Were anything expanded on the laptop, these would show.
		"DYNO=laptop", "GREETING=laptop", "PORT=laptop", "TERM=vt100")
	return &laptop{t: t, env: env}
}

// command is a program run on the laptop in dir, for at most five
// minutes (a deploy's worth).
func (l *laptop) command(dir, name string, args ...string) *exec.Cmd {
	cmd := testutil.Command(l.t, 5*time.Minute, name, args...)
	cmd.Dir, cmd.Env = dir, l.env
	return cmd
}

// slipway runs the slipway binary in dir and returns its standard output
// and error, failing the test if it fails.
func (l *laptop) slipway(dir string, args ...string) string {
	l.t.Helper()
	out, err := l.try(dir, args...)
	if err != nil {
		l.t.Fatalf("slipway %q: %v\n%s", args, err, out)
	}
	return out
}

// try runs the slipway binary in dir and returns its standard output (with
// its standard error after it when it fails) and error.
func (l *laptop) try(dir string, args ...string) (string, error) {
	var stderr strings.Builder
	cmd := l.command(dir, slipwayBin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

func (l *laptop) git(dir string, args ...string) {
	l.t.Helper()
	if out, err := l.command(dir, "git", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("git %q: %v\n%s", args, err, out)
	}
}

// The user story of the laptop CLI: from a clone whose remote is the
// slipway, with nothing but the user's own ssh config, `slipway COMMAND`
// runs on the app of the remote with every argument as typed, run -t has
// a terminal, logs -t follows until Ctrl-C, open prints the URL, and
// remote:add sets up a new repository that then deploys.
func TestCLI_FromACloneWithTheRemote(t *testing.T) {
	s := startServer(t)
	src := s.newApp(staticApp("v1"))
	s.mustGit(src, "push", s.remote("shop"), "main")
	l := newLaptop(t, s)
	work := t.TempDir()
	l.git(work, "clone", "-q", "-o", "deploy", "ssh://git@slipway-e2e/shop", "shop")
	clone := filepath.Join(work, "shop")

	// config:set with a space, read back exactly; what the app's shell
	// expands is the app's ($DYNO, $GREETING), not the laptop's.
	l.slipway(clone, "config:set", "GREETING=hello world")
	if got := l.slipway(clone, "config:get", "GREETING"); got != "hello world\n" {
		t.Errorf("config:get GREETING = %q", got)
	}
	if got := l.slipway(clone, "run", `echo "$DYNO says $GREETING to $SLIPWAY_APP"`); !strings.HasPrefix(got, "run.") || !strings.HasSuffix(got, " says hello world to shop\n") {
		t.Errorf("run 'echo $DYNO …' = %q, want the app's run.N, GREETING and name", got)
	}
	// The issue's own example: $PORT is the one-off's, as on Heroku.
	if got := strings.TrimSpace(l.slipway(clone, "run", "echo $PORT")); got == "" || strings.Trim(got, "0123456789") != "" || got == "laptop" {
		t.Errorf("run 'echo $PORT' = %q, want the one-off's port", got)
	}
	odd := "it's \"quoted\" \\ back\\\\slash $HOME `id` *.py ~ ; & | ünï ✓\nsecond\tline ''"
	l.slipway(clone, "config:set", "--no-restart", "ODD="+odd)
	if got := l.slipway(clone, "config:get", "ODD"); got != odd+"\n" {
		t.Errorf("config:get ODD = %q, want %q", got, odd+"\n")
	}
	if got := l.slipway(clone, "run", "--", "printf", "[%s]", "a b", "", "it's", `back\slash`, "$HOME"); got != `[a b][][it's][back\slash][$HOME]` {
		t.Errorf("run printf = %q", got)
	}

	// The remote command's exit status is slipway's; without -t there is
	// no terminal, with -t there is.
	cmd := l.command(clone, slipwayBin, "run", "exit 3")
	if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Errorf("run 'exit 3': %v, want exit status 3", err)
	}
	if out, err := l.try(clone, "run", "tty"); err == nil || !strings.Contains(out, "not a tty") {
		t.Errorf("run tty without -t: %v %q", err, out)
	}
	if out := l.onTerminal(clone, "run", "-t", "sh", "-c", `tty; echo "TERM=$TERM"`); !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "TERM=vt100") {
		t.Errorf("run -t: %q, want a pty with the laptop's TERM", out)
	}

	// logs shows the runs; logs -t follows until Ctrl-C, which ends it
	// with status 0.
	if out := l.slipway(clone, "logs", "-n", "100"); !strings.Contains(out, "started by id_ed25519@") {
		t.Errorf("logs lack the runs:\n%s", out)
	}
	l.followLogsUntilCtrlC(clone, func() { s.get("shop", "/followed-from-the-laptop") }, "/followed-from-the-laptop")

	// open prints the URL apps:info shows.
	var want string
	for line := range strings.Lines(s.mustSSH("apps:info", "shop")) {
		if rest, ok := strings.CutPrefix(line, "URL:"); ok {
			want = strings.TrimSpace(rest) + "\n"
		}
	}
	if got := l.slipway(clone, "open"); want == "" || got != want {
		t.Errorf("open = %q, want %q", got, want)
	}

	// -a names another app on the remote's host; --remote another remote,
	// with the port in its URL or scp-like.
	l.slipway(clone, "-a", "other", "apps:create")
	l.slipway(clone, "config:set", "-a", "other", "--no-restart", "WHERE=other")
	l.git(clone, "remote", "add", "staging", "ssh://git@127.0.0.1:"+s.sshPort()+"/other")
	l.git(clone, "remote", "add", "scp", "slipway-e2e:other.git")
	for _, args := range [][]string{{"--remote", "staging", "config:get", "WHERE"}, {"config:get", "--remote", "scp", "WHERE"}, {"-a", "other", "config:get", "WHERE"}} {
		if got := l.slipway(clone, args...); got != "other\n" {
			t.Errorf("slipway %q = %q, want other's", args, got)
		}
	}
	if got := l.slipway(clone, "config:get", "GREETING"); got != "hello world\n" {
		t.Errorf("config:get GREETING after -a other = %q, want shop's", got)
	}

	// remote:add in a fresh repository: the remote named after the
	// directory, pushed to, then open; never a second time.
	fresh := filepath.Join(t.TempDir(), "Fresh Site")
	if err := os.MkdirAll(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	l.git(fresh, "init", "-q", "-b", "main")
	for name, content := range staticApp("fresh") {
		if err := os.WriteFile(filepath.Join(fresh, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l.git(fresh, "add", "-A")
	l.git(fresh, "commit", "-q", "-m", "first")
	if out := l.slipway(fresh, "remote:add", "slipway-e2e"); !strings.Contains(out, "ssh://git@slipway-e2e/fresh-site") {
		t.Errorf("remote:add said %q", out)
	}
	l.git(fresh, "push", "-q", "deploy", "main")
	if got := l.slipway(fresh, "open"); !strings.HasPrefix(got, "http://fresh-site."+testDomain) {
		t.Errorf("open in the fresh repository = %q", got)
	}
	if out, err := l.try(fresh, "remote:add", "127.0.0.1:"+s.sshPort()); err == nil || !strings.Contains(out, "git remote set-url deploy ssh://git@127.0.0.1:"+s.sshPort()+"/fresh-site") {
		t.Errorf("a second remote:add: %v %q, want a refusal saying how to change it", err, out)
	}

	// On the host, away from a clone, -a APP stands for NAME with the
	// admin API.
	cmd = testutil.Command(t, time.Minute, slipwayBin, "-a", "shop", "config:get", "GREETING")
	cmd.Dir, cmd.Env = t.TempDir(), append(os.Environ(), "SLIPWAY_ADMIN_ADDR="+s.adminAddr, "SLIPWAY_DATA="+s.dataDir, "SLIPWAY_ADMIN_TOKEN=")
	if out, err := cmd.Output(); err != nil || string(out) != "hello world\n" {
		t.Errorf("slipway -a shop config:get GREETING on the host: %v %q", err, out)
	}
	// On the host, in a clone with a slipway remote, NAME is still typed:
	// the remote names no app for the admin API.
	cmd = testutil.Command(t, time.Minute, slipwayBin, "config:get", "shop", "GREETING")
	cmd.Dir, cmd.Env = clone, append(os.Environ(), "SLIPWAY_ADMIN_ADDR="+s.adminAddr, "SLIPWAY_DATA="+s.dataDir, "SLIPWAY_ADMIN_TOKEN=")
	if out, err := cmd.Output(); err != nil || string(out) != "hello world\n" {
		t.Errorf("slipway config:get shop GREETING on the host in the clone: %v %q", err, out)
	}
	cmd = testutil.Command(t, time.Minute, slipwayBin, "open", "shop")
	cmd.Dir, cmd.Env = t.TempDir(), append(os.Environ(), "SLIPWAY_ADMIN_ADDR="+s.adminAddr, "SLIPWAY_DATA="+s.dataDir, "SLIPWAY_ADMIN_TOKEN=")
	if out, err := cmd.Output(); err != nil || string(out) != want {
		t.Errorf("slipway open shop on the host: %v %q, want %q", err, out, want)
	}
}

// onTerminal runs slipway with args in dir on a terminal of its own (a
// pty, as a user's) and returns what it printed there.
func (l *laptop) onTerminal(dir string, args ...string) string {
	l.t.Helper()
	cmd := l.command(dir, slipwayBin, args...)
	tty, err := pty.Start(cmd)
	if err != nil {
		l.t.Fatal(err)
	}
	defer tty.Close()
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(tty) // ends with EIO once slipway and ssh are gone
		out <- string(b)
	}()
	if err := cmd.Wait(); err != nil {
		l.t.Errorf("slipway %q on a terminal: %v", args, err)
	}
	select {
	case s := <-out:
		return s
	case <-time.After(time.Minute):
		l.t.Fatalf("slipway %q: the terminal stayed open", args)
		return ""
	}
}

// followLogsUntilCtrlC runs logs -t, does what makes the line want, reads
// until it shows, then sends SIGINT to slipway and ssh together, as
// Ctrl-C on a terminal does; slipway must end with status 0.
func (l *laptop) followLogsUntilCtrlC(dir string, do func(), want string) {
	l.t.Helper()
	cmd := l.command(dir, slipwayBin, "logs", "-t", "-n", "1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	seen := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				select {
				case seen <- true:
				default:
				}
			}
		}
		close(seen)
		io.Copy(io.Discard, stdout)
	}()
	// The request may come before logs -t listens: make it until it shows.
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for shown := false; !shown; {
		do()
		select {
		case ok := <-seen:
			if !ok {
				l.t.Fatalf("logs -t ended before showing %s: %v", want, cmd.Wait())
			}
			shown = true
		case <-tick.C:
		case <-deadline:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			l.t.Fatalf("logs -t did not show %s within 30s", want)
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		l.t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		l.t.Errorf("logs -t after Ctrl-C: %v, want exit status 0", err)
	}
}
