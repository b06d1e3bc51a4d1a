package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/appdisk"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/services"
)

// example is one ```sh block of the README or a page of docs/.
type example struct {
	file, text string
	skip       string // why it is not run: the <!-- example: skip, WHY --> before it
}

var skipMark = regexp.MustCompile(`^<!-- example: skip, (.+) -->$`)

// examples returns the shell blocks of the README and docs/, in order.
func examples(t *testing.T) []example {
	files, _ := filepath.Glob("../docs/*.md")
	var out []example
	for _, file := range append([]string{"../README.md"}, files...) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var block *example
		prev := ""
		for line := range strings.Lines(string(data)) {
			line = strings.TrimRight(line, "\n")
			switch {
			case block == nil && line == "```sh":
				block = &example{file: filepath.Base(file)}
				if m := skipMark.FindStringSubmatch(prev); m != nil {
					block.skip = m[1]
				}
			case block != nil && line == "```":
				out = append(out, *block)
				block = nil
			case block != nil:
				block.text += line + "\n"
			}
			prev = line
		}
	}
	return out
}

// The shell examples of the README and docs/ work as written: each block
// runs, in order, as a new user would run it, with the quick start's own
// `slipway serve` (its default ports) on a fresh machine (a private
// HOME with no key, a fresh directory). A block that needs what a test
// cannot have (a remote host, Docker, minutes of load, the suite itself)
// is marked <!-- example: skip, WHY --> in the page.
//
// Three things differ from a user's terminal, and only these: the binary
// is the one this run built (copied where `go build -o slipway` would
// put it); ssh trusts slipway's host key on first use
// (StrictHostKeyChecking accept-new) where a user answers yes; and HOST,
// the reader's server, is localhost.
func TestDocs_ExamplesRunAsWritten(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the test makes a user of its own, the new reader, which needs root")
	}
	useradd := testutil.NeedTool(t, "useradd", "passwd")
	setpriv := testutil.NeedTool(t, "setpriv", "util-linux")
	testutil.NeedTool(t, "curl", "curl") // the quick start's
	// docs/services.md's servers, as slipway finds them.
	for _, kind := range []slipway.ServiceKind{slipway.Postgres, slipway.Redis} {
		srv, err := services.For(kind)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Version(""); err != nil {
			testutil.Missing(t, "docs/services.md's examples need %s: %v", kind, err)
		}
	}
	all := examples(t)
	var run []example
	for _, ex := range all {
		if ex.skip == "" {
			run = append(run, ex)
		}
	}
	if len(run) < 3 {
		t.Fatalf("only %d runnable examples of %d: the pages lost them", len(run), len(all))
	}
	// The reader: a user of its own, whose home (where ssh and ssh-keygen
	// look, whatever HOME says) is empty, running slipway unprivileged
	// as on a laptop.
	base := t.TempDir()
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	home, work, bin := filepath.Join(base, "home"), filepath.Join(base, "work"), filepath.Join(base, "bin")
	name := "slipway-reader-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command(useradd, "-M", "-N", "-d", home, "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Skipf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { testutil.RemoveUsersUnder(base) })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range []string{home, work, bin} {
		os.MkdirAll(d, 0o755)
		os.Chown(d, uid, gid)
	}
	t.Cleanup(func() { appdisk.DetachUnder(work) })
	if err := os.Symlink(filepath.Join(work, "slipway"), filepath.Join(bin, "slipway")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte("Host localhost 127.0.0.1\n  StrictHostKeyChecking accept-new\n"), 0o600)
	os.Chown(filepath.Join(home, ".ssh"), uid, gid)
	os.Chown(filepath.Join(home, ".ssh", "config"), uid, gid)
	asReader := []string{setpriv, "--reuid", u.Uid, "--regid", u.Gid, "--clear-groups", "--inh-caps=-all", "--"}
	env := append(os.Environ(), "HOME="+home, "USER="+name, "LOGNAME="+name, "PATH="+bin+":"+os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=Docs Reader", "GIT_AUTHOR_EMAIL=reader@example.com",
		"GIT_COMMITTER_NAME=Docs Reader", "GIT_COMMITTER_EMAIL=reader@example.com", "GIT_CONFIG_NOSYSTEM=1")

	pwdDir := t.TempDir()
	os.Chmod(pwdDir, 0o777)
	sh := &shell{t: t, dir: work, env: env, pwd: filepath.Join(pwdDir, "pwd"), as: asReader}
	var serve *exec.Cmd
	t.Cleanup(func() {
		if serve != nil {
			serve.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { serve.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				serve.Process.Kill()
			}
		}
	})
	for _, ex := range run {
		sh.dir = work // each block from where the quick start began
		for line := range strings.Lines(ex.text) {
			// HOST is the reader's server: here, this machine.
			line = strings.ReplaceAll(strings.TrimSpace(line), "git@HOST", "git@localhost")
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
			case strings.HasPrefix(line, "go build -o slipway ./cmd/slipway"):
				copyFile(t, slipwayBin, filepath.Join(sh.dir, "slipway"))
				os.Chown(filepath.Join(sh.dir, "slipway"), uid, gid)
			case strings.HasPrefix(line, "./slipway serve"):
				serve = exec.Command(asReader[0], append(asReader[1:], "/bin/sh", "-c", "exec "+line)...)
				serve.Dir, serve.Env = sh.dir, env
				stderr, _ := serve.StderrPipe()
				if err := serve.Start(); err != nil {
					t.Fatal(err)
				}
				waitReady(t, stderr)
			case strings.HasPrefix(line, "ssh-keygen"):
				sh.run(line, "\n\n\n") // the default file and no passphrase, as a user answers
			default:
				out, err := sh.run(line, "")
				t.Logf("%s: $ %s\n%s", ex.file, line, out)
				if err != nil {
					t.Fatalf("%s: %s\n%v\n%s", ex.file, line, err, out)
				}
			}
		}
	}
}

// shell runs the lines of examples with /bin/sh, one at a time, as a
// user's shell would: a line that cds (mkdir hello && cd hello && …)
// sets the directory of the lines after it.
type shell struct {
	t   *testing.T
	dir string   // the current directory
	env []string // the user's environment
	pwd string   // a file where each line leaves its directory
	as  []string // the command that runs a line as the reader
}

// run runs line with its input in.
func (s *shell) run(line, in string) (string, error) {
	s.t.Helper()
	script := "cd " + shellQuote(s.dir) + " && " + line + "\nrc=$?; pwd > " + shellQuote(s.pwd) + "; exit $rc"
	cmd := testutil.Command(s.t, 5*time.Minute, s.as[0], append(s.as[1:], "/bin/sh", "-c", script)...)
	cmd.Env, cmd.Stdin = s.env, strings.NewReader(in)
	out, err := cmd.CombinedOutput()
	if d, rerr := os.ReadFile(s.pwd); rerr == nil && strings.TrimSpace(string(d)) != "" {
		s.dir = strings.TrimSpace(string(d))
	}
	return string(out), err
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// waitReady reads serve's log until it is ready.
func waitReady(t *testing.T, stderr interface{ Read([]byte) (int, error) }) {
	t.Helper()
	ready := make(chan bool, 1)
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !sent && strings.Contains(sc.Text(), "slipway ready") {
				ready <- true
				sent = true
			}
		}
		if !sent {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("the quick start's slipway serve ended before it was ready")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the quick start's slipway serve was not ready after 60s")
	}
}

// copyFile copies an executable.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}
