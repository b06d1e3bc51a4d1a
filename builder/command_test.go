package builder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

func runSh(t *testing.T, ctx context.Context, script string) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	out := newStream(&buf)
	err := run(ctx, command{
		step:   "test step",
		header: "Running test step",
		args:   []string{"sh", "-c", script},
		dir:    t.TempDir(),
		env:    os.Environ(),
	}, out, time.Minute)
	return buf.String(), err
}

func TestRun_StreamsStdoutAndStderr(t *testing.T) {
	got, err := runSh(t, context.Background(), "echo out; echo err >&2; printf partial")
	if err != nil {
		t.Fatal(err)
	}
	want := "-----> Running test step\n       out\n       err\n       partial\n"
	if got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestRun_NamesTheStepOnFailure(t *testing.T) {
	_, err := runSh(t, context.Background(), "exit 3")
	if err == nil || err.Error() != "build failed: test step: exit status 3" {
		t.Errorf("err = %v", err)
	}
}

func TestRun_StdinIsEmpty(t *testing.T) {
	got, err := runSh(t, context.Background(), "if read line; then echo got input; else echo no input; fi")
	if err != nil || !strings.Contains(got, "       no input\n") {
		t.Errorf("output %q, %v", got, err)
	}
}

func TestRun_RunsInDirWithPWD(t *testing.T) {
	var buf bytes.Buffer
	dir := t.TempDir()
	err := run(context.Background(), command{step: "pwd", args: []string{"sh", "-c", `echo "$PWD"; pwd`}, dir: dir, env: os.Environ()}, newStream(&buf), time.Minute)
	if want := "       " + dir + "\n       " + dir + "\n"; err != nil || buf.String() != want {
		t.Errorf("output %q, %v, want %q", buf.String(), err, want)
	}
}

func TestRun_KillsBackgroundProcessesWhenTheStepEnds(t *testing.T) {
	// The background sleep keeps the output pipe open: the step is only
	// over once run has killed it with the rest of the group.
	out, err := runSh(t, context.Background(), "sleep 300 & echo $!")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(out, "-----> Running test step\n")))
	if err != nil {
		t.Fatalf("the step printed %q, want the sleep's pid", out)
	}
	if testutil.ProcessAlive(t, pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the background sleep (pid %d) outlived the step: run did not kill it (and waited up to %v for the output it held)", pid, outputGrace)
	}
}

func TestRun_CancelIsNotReportedAsTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := runSh(t, ctx, "true")
	if err == nil || !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %v, want a cancellation", err)
	}
}

func TestRun_MissingProgram(t *testing.T) {
	var buf bytes.Buffer
	err := run(context.Background(), command{step: "nope", args: []string{"slipway-no-such-program"}, dir: t.TempDir()}, newStream(&buf), time.Minute)
	if err == nil || !strings.HasPrefix(err.Error(), "build failed: nope: ") {
		t.Errorf("err = %v", err)
	}
}

// A step that prints nothing for a while is said to be still building,
// and one that talks is left alone.
func TestRun_SaysStillBuildingWhenQuiet(t *testing.T) {
	defer func(d time.Duration) { quietAfter = d }(quietAfter)
	quietAfter = 20 * time.Millisecond
	out, err := runSh(t, t.Context(), "sleep 0.3; echo done")
	if err != nil || !strings.Contains(out, "       still building (") || !strings.HasSuffix(out, "       done\n") {
		t.Errorf("a quiet step: %v\n%s", err, out)
	}
	quietAfter = time.Hour
	if out, _ := runSh(t, t.Context(), "echo talking"); strings.Contains(out, "still building") {
		t.Errorf("a talking step:\n%s", out)
	}
}
