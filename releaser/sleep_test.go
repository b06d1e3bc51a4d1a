package releaser

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// A draining pool no request reached for DrainSleepAfter sleeps: its
// processes end, and clients without a pin to it never wake it. The next
// request pinned to it wakes it and is answered by it, never by the live
// release.
func TestSleep_APinnedRequestWakesItsPool(t *testing.T) {
	f := newFixture(t, Config{SessionTTL: time.Hour, DrainSleepAfter: 100 * time.Millisecond})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	pinned := jarClient(t)
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("got %q, want v1", got)
	}
	v1 := f.rel.Processes("app")[0].PID
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "v1 to sleep and its process to end", func() bool {
		d := f.rel.Draining("app")
		return len(d) == 1 && !d[0].SleepingSince.IsZero() && !alive(v1)
	})
	for range 5 {
		if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v2") {
			t.Fatalf("a client without a pin got %q, want v2", got)
		}
	}
	if d := f.rel.Draining("app"); len(d) != 1 || d[0].SleepingSince.IsZero() {
		t.Fatalf("draining %+v: a client without a pin woke v1", d)
	}
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("the pinned client got %q after v1 slept, want v1 woken", got)
	}
	if d := f.rel.Draining("app"); len(d) != 1 || !d[0].SleepingSince.IsZero() {
		t.Errorf("draining %+v, want v1 awake", d)
	}
	procs := f.rel.Processes("app")
	if len(procs) != 2 || procs[1].Release != 1 || procs[1].PID == v1 {
		t.Errorf("processes %+v, want v2's and a new one of v1", procs)
	}
	// It sleeps again, and wakes again.
	waitFor(t, "v1 to sleep again", func() bool {
		d := f.rel.Draining("app")
		return len(d) == 1 && !d[0].SleepingSince.IsZero()
	})
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Errorf("the pinned client got %q at the second wake, want v1", got)
	}
}

// A pool that cannot wake (its release no longer starts) is retired: the
// request pinned to it goes to the live release with a new cookie.
func TestSleep_APoolThatDoesNotWakeIsRetired(t *testing.T) {
	f := newFixture(t, Config{SessionTTL: time.Hour, DrainSleepAfter: 100 * time.Millisecond, DeployTimeout: 2 * time.Second})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	pinned := jarClient(t)
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("got %q, want v1", got)
	}
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "v1 to sleep", func() bool {
		d := f.rel.Draining("app")
		return len(d) == 1 && !d[0].SleepingSince.IsZero()
	})
	a := f.rel.app("app")
	a.mu.Lock()
	a.draining[0].command = "exit 3" // its release no longer starts
	a.mu.Unlock()
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v2") {
		t.Errorf("the pinned client of a pool that did not wake got %q, want v2", got)
	}
	waitFor(t, "v1 to be retired", func() bool { return len(f.rel.Draining("app")) == 0 })
}

// An app with autosleep stops its web processes once idle; the next
// request, pinned or not, starts them and is answered by them.
func TestAutosleep_AnIdleAppSleepsAndTheNextRequestWakesIt(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	first := f.rel.Processes("app")[0].PID
	f.rel.SetAutosleep("app", 200*time.Millisecond, false)
	asleep := func() bool { return !f.rel.Apps()[0].SleepingSince.IsZero() }
	waitFor(t, "the app to sleep and its process to end", func() bool { return asleep() && !alive(first) })
	if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("the request that woke the app got %q", got)
	}
	if asleep() {
		t.Error("the app still sleeps after a request")
	}
	if procs := f.rel.Processes("app"); len(procs) != 1 || procs[0].PID == first {
		t.Errorf("processes %+v, want a new web.1", procs)
	}
	waitFor(t, "the app to sleep again", asleep)
	f.rel.SetAutosleep("app", 0, false) // off: it wakes
	if asleep() || len(f.rel.Processes("app")) != 1 {
		t.Errorf("turning autosleep off left the app asleep: %+v", f.rel.Apps()[0])
	}
}

// ps:scale and ps:restart of an app that sleeps wake it first.
func TestAutosleep_ScaleWakesTheApp(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	f.rel.SetAutosleep("app", 100*time.Millisecond, false)
	waitFor(t, "the app to sleep", func() bool { return !f.rel.Apps()[0].SleepingSince.IsZero() })
	f.rel.SetAutosleep("app", time.Hour, false) // no second sleep during the test
	if err := f.rel.Scale(t.Context(), "app", "web", 2, io.Discard); err != nil {
		t.Fatal(err)
	}
	if st := f.rel.Apps()[0]; !st.SleepingSince.IsZero() || st.Instances != 2 {
		t.Errorf("after ps:scale web=2: %+v, want 2 instances awake", st)
	}
}

// A pool of two wakes with web.1, which answers at once, and gets web.2
// back in the background.
func TestSleep_APoolWakesWithOneInstanceThenGrows(t *testing.T) {
	f := newFixture(t, Config{SessionTTL: time.Hour, DrainSleepAfter: 500 * time.Millisecond})
	if _, err := f.release("app", "1", &slipway.AppJSON{Formation: map[string]slipway.Formation{"web": {Quantity: ptr(2)}}}); err != nil {
		t.Fatal(err)
	}
	pinned := jarClient(t)
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("got %q, want v1", got)
	}
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	f.rel.SetAutosleep("app", 0, false)
	waitFor(t, "v1 to sleep", func() bool {
		d := f.rel.Draining("app")
		return len(d) == 1 && !d[0].SleepingSince.IsZero()
	})
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("the pinned client got %q, want v1 woken", got)
	}
	waitFor(t, "v1 back to two instances", func() bool {
		if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") { // and awake
			t.Fatalf("the pinned client got %q while v1 grew, want v1", got)
		}
		n := 0
		for _, p := range f.rel.Processes("app") {
			if p.Release == 1 && p.State == StateUp {
				n++
			}
		}
		return n == 2
	})
}

// With workers, an app that sleeps stops its workers too, and the request
// that wakes it starts them again.
func TestAutosleep_WorkersSleepWithTheApp(t *testing.T) {
	f := newFixture(t, Config{})
	err := f.rel.Release(context.Background(), Spec{
		App: "app", Version: 1, Commit: strings.Repeat("a", 40), Dir: t.TempDir(),
		Procfile: slipway.Procfile{{Type: "web", Command: appCommand(t, "1")}, {Type: "worker", Command: "exec sleep 4747"}},
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	workers := func() int {
		n := 0
		for _, p := range f.rel.Processes("app") {
			if strings.HasPrefix(p.ID, "worker.") && p.State == StateUp {
				n++
			}
		}
		return n
	}
	if workers() != 1 {
		t.Fatalf("processes %+v, want a worker", f.rel.Processes("app"))
	}
	f.rel.SetAutosleep("app", 200*time.Millisecond, true)
	waitFor(t, "the app and its worker to sleep", func() bool {
		return !f.rel.Apps()[0].SleepingSince.IsZero() && workers() == 0
	})
	f.rel.SetAutosleep("app", time.Hour, true) // no second sleep during the test
	if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("the request that woke the app got %q", got)
	}
	waitFor(t, "the worker to run again", func() bool { return workers() == 1 })
}
