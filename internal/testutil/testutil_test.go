package testutil

import (
	"os"
	"os/exec"
	"testing"
)

func TestWaitFor_ReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	WaitFor(t, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Errorf("cond called %d times, want 3", calls)
	}
}

func TestProcessAlive_NotAZombie(t *testing.T) {
	if !ProcessAlive(t, os.Getpid()) {
		t.Fatal("this test is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Not reaped yet: a zombie once it has exited.
	WaitFor(t, "true to exit", func() bool { return !ProcessAlive(t, cmd.Process.Pid) })
	cmd.Wait()
	if ProcessAlive(t, cmd.Process.Pid) {
		t.Error("a reaped process is alive")
	}
}

func TestEachHTTPServer_NamesTheSubtests(t *testing.T) {
	var got []string
	EachHTTPServer(t, func(t *testing.T, lean bool) {
		got = append(got, t.Name())
		if lean != (t.Name() == "TestEachHTTPServer_NamesTheSubtests/lean") {
			t.Errorf("%s: lean = %v", t.Name(), lean)
		}
	})
	if len(got) != 2 || got[0] != "TestEachHTTPServer_NamesTheSubtests/net/http" {
		t.Errorf("subtests %q", got)
	}
}

func TestPrivateHome_IsEmptyAndSet(t *testing.T) {
	home := PrivateHome(t)
	if os.Getenv("HOME") != home {
		t.Errorf("HOME = %q, want %q", os.Getenv("HOME"), home)
	}
	if entries, err := os.ReadDir(home); err != nil || len(entries) != 0 {
		t.Errorf("HOME holds %v, %v", entries, err)
	}
}
