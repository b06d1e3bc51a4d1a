package supervisor

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// appLogText returns what the app log of s holds.
func appLogText(s Spec) string {
	data, _ := os.ReadFile(s.AppLog.path)
	return string(data)
}

// A process started by one slipway is adopted by the next from what the
// first recorded: its output goes on into the app log from where the
// first stopped copying, with no line lost or doubled; its exit is seen
// though it is not the adopter's child; Stop ends it.
func TestAdopt_TakesOverOutputExitAndStop(t *testing.T) {
	gate := t.TempDir() + "/gate"
	s := spec(t, `echo one; while [ ! -e `+gate+` ]; do sleep 0.02; done; echo two; printf 'three'; sleep 60`)
	first, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first line in the app log", func() bool { return strings.Contains(appLogText(s), "web.1 v1: one\n") })
	first.Detach() // the first slipway hands over
	rec := first.Running()
	if rec.PID != first.PID() || rec.StartTicks == 0 || rec.TmpDir == "" || rec.LogOffset != int64(len("one\n")) {
		t.Fatalf("Running = %+v", rec)
	}
	os.WriteFile(gate, nil, 0o644)
	waitFor(t, "the process to write on", func() bool {
		raw, _ := os.ReadFile(s.LogPath)
		return strings.HasSuffix(string(raw), "three")
	})
	if strings.Contains(appLogText(s), "two") {
		t.Fatal("a detached process's output was still copied")
	}

	p, err := Adopt(s, rec)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the adopter to copy the rest", func() bool { return strings.Contains(appLogText(s), "web.1 v1: two\n") })
	if n := strings.Count(appLogText(s), ": one\n"); n != 1 {
		t.Errorf("line one is in the app log %d times", n)
	}
	if p.PID() != first.PID() || !p.Alive() {
		t.Fatalf("adopted pid %d alive %v, started as %d", p.PID(), p.Alive(), first.PID())
	}
	if _, err := Adopt(s, Running{PID: rec.PID, StartTicks: rec.StartTicks + 1}); err != ErrGone {
		t.Errorf("Adopt with another start time = %v, want ErrGone (a recycled pid)", err)
	}

	syscall.Kill(p.PID(), syscall.SIGKILL)
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the adopted process's exit was not seen")
	}
	if got := p.ExitText(); !strings.Contains(got, "exited") {
		t.Errorf("ExitText = %q", got)
	}
	<-first.Exited() // the test is the parent: reap it
	p.Stop(time.Second)
	if !strings.Contains(appLogText(s), "web.1 v1: three\n") {
		t.Errorf("the unfinished last line was not logged at Stop:\n%s", appLogText(s))
	}
	if _, err := os.Stat(rec.TmpDir); !os.IsNotExist(err) {
		t.Errorf("TMPDIR %s left after Stop: %v", rec.TmpDir, err)
	}
	if _, err := Adopt(s, rec); err != ErrGone {
		t.Errorf("Adopt of an exited process = %v, want ErrGone", err)
	}
}

// Detach ends supervision but not the process, which is not restarted
// when it exits meanwhile; Resume supervises it again.
func TestSupervise_DetachLeavesTheProcessAndResumeTakesItBack(t *testing.T) {
	s := spec(t, `sleep 60`)
	first, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	sup := Supervise(first, func() (*Process, error) { return Start(s) }, Hooks{StopGrace: time.Second})
	t.Cleanup(sup.Stop)
	sup.Detach()
	if !first.Alive() {
		t.Fatal("Detach stopped the process")
	}
	sup.Resume()
	syscall.Kill(-first.PID(), syscall.SIGKILL)
	waitFor(t, "a restart after Resume", func() bool { in := sup.Info(); return in.State == StateUp && in.PID != first.PID() })

	sup.Detach() // returns once supervision has ended: nothing restarts now
	second := sup.Current()
	syscall.Kill(-second.PID(), syscall.SIGKILL)
	<-second.Exited()
	if in := sup.Info(); in.PID != second.PID() || in.Restarts != 1 || in.State != StateUp {
		t.Errorf("a detached process's exit was acted on: %+v", in)
	}
	// Resumed, the exit that happened meanwhile is seen and acted on.
	sup.Resume()
	waitFor(t, "the restart of what exited while detached", func() bool {
		in := sup.Info()
		return in.State == StateUp && in.Restarts == 2 && in.PID != second.PID()
	})
}

// A crashed process shows since when it is down, not the uptime of the
// process that died.
func TestSupervise_CrashedSinceTheExit(t *testing.T) {
	s := spec(t, `sleep 60`)
	first, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	sup := Supervise(first, func() (*Process, error) { return Start(s) }, Hooks{StopGrace: time.Second})
	t.Cleanup(sup.Stop)
	killed := time.Now()
	syscall.Kill(-first.PID(), syscall.SIGKILL)
	var in Info
	waitFor(t, "the crashed state (the restart comes 500ms later)", func() bool { in = sup.Info(); return in.State == StateCrashed })
	if in.Since.Before(killed) {
		t.Errorf("crashed since %v, before the kill at %v", in.Since, killed)
	}
}

// Adopted without a known offset (the slipway before died), the copy
// starts at the end of the log: no line reaches the app log twice.
func TestAdopt_UnknownOffsetStartsAtTheEnd(t *testing.T) {
	gate := t.TempDir() + "/gate"
	s := spec(t, `echo old line; while [ ! -e `+gate+` ]; do sleep 0.02; done; echo new line; sleep 60`)
	first, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first line", func() bool { return strings.Contains(appLogText(s), "old line") })
	first.Detach()
	rec := first.Running()
	rec.LogOffset = -1
	p, err := Adopt(s, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Second); <-first.Exited() })
	os.WriteFile(gate, nil, 0o644)
	waitFor(t, "the new line", func() bool { return strings.Contains(appLogText(s), "new line") })
	if n := strings.Count(appLogText(s), "old line"); n != 1 {
		t.Errorf("the old line is in the app log %d times", n)
	}
}
