package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// spec returns a Spec running command in a temp dir, logging to files
// there.
func spec(t *testing.T, command string) Spec {
	t.Helper()
	dir := t.TempDir()
	return Spec{
		ID: "web.1", Command: command, Dir: dir, Env: AppEnv(dir, nil),
		TmpDir: filepath.Join(dir, "tmp", "v1.web.1"), LogPath: filepath.Join(dir, "logs", "web.1.log"),
		AppLog: NewAppLog(filepath.Join(dir, "logs", "app.log")), Release: "v1",
	}
}

// waitFor polls cond until it holds, failing the test after testutil.Timeout.
var waitFor = testutil.WaitFor

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestStart_OutputGoesToBothLogs(t *testing.T) {
	s := spec(t, `echo "hello from $DYNO"; echo "tmp=$TMPDIR"`)
	s.Env = append(s.Env, "DYNO=web.1")
	p, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	p.Stop(time.Second)
	s.AppLog.Close()
	raw, _ := os.ReadFile(s.LogPath)
	if !strings.HasPrefix(string(raw), "hello from web.1\ntmp="+s.TmpDir+".") {
		t.Errorf("process log = %q, want the output with a TMPDIR named after %s", raw, s.TmpDir)
	}
	app, _ := os.ReadFile(s.AppLog.path)
	if !strings.Contains(string(app), " web.1 v1: hello from web.1\n") {
		t.Errorf("app log = %q, want prefixed lines", app)
	}
	if got := p.ExitText(); got != "exited with status 0" {
		t.Errorf("ExitText = %q", got)
	}
}

func TestStop_KillsTheGroupAndRemovesTmpDir(t *testing.T) {
	s := spec(t, `sleep 60 & echo $! > "$TMPDIR/child"; touch "$TMPDIR/ready"; trap '' TERM; sleep 60`)
	p, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	tmp := p.tmpDir
	waitFor(t, "the process to start its child", func() bool {
		_, err := os.Stat(filepath.Join(tmp, "ready"))
		return err == nil
	})
	data, _ := os.ReadFile(filepath.Join(tmp, "child"))
	var child int
	for _, c := range strings.TrimSpace(string(data)) {
		child = child*10 + int(c-'0')
	}
	p.Stop(100 * time.Millisecond) // the shell ignores TERM: KILL ends it
	if p.Alive() {
		t.Error("process still running after Stop")
	}
	waitFor(t, "the background child to die", func() bool { return !alive(child) })
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("TMPDIR %s left behind: %v", tmp, err)
	}
}

// A server that stops its own children in order (PostgreSQL on SIGINT)
// gets StopSignal alone: its children see nothing from slipway until it
// has had its grace.
func TestStop_StopSignalGoesToTheProcessAlone(t *testing.T) {
	s := spec(t, `sleep 60 & child=$!; trap 'echo "got INT"; kill $child; exit 0' INT; touch "$TMPDIR/ready"; wait`)
	s.StopSignal = syscall.SIGINT
	p, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the process to be ready", func() bool {
		_, err := os.Stat(filepath.Join(p.tmpDir, "ready"))
		return err == nil
	})
	p.Stop(testutil.Timeout)
	raw, _ := os.ReadFile(s.LogPath)
	if !strings.Contains(string(raw), "got INT") {
		t.Errorf("log = %q, want the process's own SIGINT handler to have run", raw)
	}
	if got := p.ExitText(); got != "exited with status 0" {
		t.Errorf("ExitText = %q, want a clean exit of its own", got)
	}
}

func TestLogTail_LastLines(t *testing.T) {
	p, err := Start(spec(t, `for i in 1 2 3 4 5; do echo line $i; done; exit 3`))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	defer p.Stop(time.Second)
	if got := strings.Join(p.LogTail(2), "|"); got != "line 4|line 5" {
		t.Errorf("LogTail(2) = %q", got)
	}
	if got := p.ExitText(); got != "exited with status 3" {
		t.Errorf("ExitText = %q", got)
	}
}

func TestAppEnv_IsBuiltFromScratch(t *testing.T) {
	t.Setenv("SLIPWAY_ADMIN_TOKEN", "secret")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	env := AppEnv("/home/app", []string{"/rel/bin"}, "GREETING=hi", "PATH=/override")
	joined := strings.Join(env, "\n")
	if strings.Contains(joined, "secret") {
		t.Errorf("slipway's environment leaked into an app's: %q", env)
	}
	for _, want := range []string{"HOME=/home/app", "LANG=C.UTF-8", "GREETING=hi", "PATH=/rel/bin:" + ReadablePath(os.Getenv("PATH"))} {
		if !strings.Contains(joined, want) {
			t.Errorf("env lacks %q: %q", want, env)
		}
	}
}
