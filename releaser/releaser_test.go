package releaser

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func jarClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 5 * time.Second}
}

func TestRelease_SwitchesAndRetiresIdlePool(t *testing.T) {
	f := newFixture(t, Config{SessionTTL: 300 * time.Millisecond})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	pinned := jarClient(t)
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("got %q, want v1", got)
	}
	procs := f.rel.Processes("app")
	v1pid := procs[0].PID
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Errorf("pinned client got %q after the switch, want v1", got)
	}
	if got := f.get(jarClient(t), "app"); !strings.HasPrefix(got, "200 release v2") {
		t.Errorf("new client got %q, want v2", got)
	}
	waitFor(t, "v1 to retire and its process to end", func() bool {
		procs := f.rel.Processes("app")
		return len(procs) == 1 && !alive(v1pid)
	})
	if got := f.get(pinned, "app"); !strings.HasPrefix(got, "200 release v2") {
		t.Errorf("client of the retired pool got %q, want v2", got)
	}
}

func TestRelease_FailedStartKeepsLivePool(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	_, err := f.release("app", "crash", nil)
	if !errors.Is(err, slipway.ErrHealthCheck) || !strings.Contains(err.Error(), "exited with status 3") {
		t.Fatalf("err = %v, want a health check failure naming the exit status", err)
	}
	if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Errorf("got %q, want v1 still live", got)
	}
	procs := f.rel.Processes("app")
	if len(procs) != 1 || procs[0].Release != 1 {
		t.Errorf("processes = %+v, want only v1's", procs)
	}
}

func TestSupervise_RestartsCrashedInstance(t *testing.T) {
	crashes := make(chan string, 10)
	f := newFixture(t, Config{OnCrash: func(app string, v slipway.Version, instance, exit string, loop int) {
		crashes <- fmt.Sprintf("%s %s %s: %s (%d)", app, v, instance, exit, loop)
	}})
	if _, err := f.release("app", "1", &slipway.AppJSON{Formation: map[string]slipway.Formation{"web": {Quantity: ptr(2)}}}); err != nil {
		t.Fatal(err)
	}
	procs := f.rel.Processes("app")
	if len(procs) != 2 {
		t.Fatalf("%d instances, want 2", len(procs))
	}
	victim := procs[0]
	syscall.Kill(-victim.PID, syscall.SIGKILL)
	// While web.1 is down every request goes to web.2.
	for i := 0; i < 20; i++ {
		if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v1") {
			t.Fatalf("request %d while an instance restarts got %q", i, got)
		}
	}
	waitFor(t, "the instance to come back", func() bool {
		procs := f.rel.Processes("app")
		return procs[0].State == StateUp && procs[0].PID != victim.PID && procs[0].Restarts == 1
	})
	if got, want := <-crashes, "app v1 "+victim.ID+": was stopped by a signal (killed) (0)"; got != want {
		t.Errorf("OnCrash heard %q, want %q", got, want)
	}
	if len(crashes) != 0 {
		t.Errorf("OnCrash heard %d more crashes", len(crashes))
	}
}

func TestScale_UpAndDown(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := f.rel.Scale(t.Context(), "app", "web", 3, &out); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 30; i++ {
		seen[f.get(http.DefaultClient, "app")] = true
	}
	if len(seen) != 3 {
		t.Errorf("answers from %d instances after scaling to 3: %v", len(seen), seen)
	}
	procs := f.rel.Processes("app")
	if err := f.rel.Scale(t.Context(), "app", "web", 1, &out); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "scaled-down processes to end", func() bool { return !alive(procs[1].PID) && !alive(procs[2].PID) })
	if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v1 web.1") {
		t.Errorf("got %q, want web.1", got)
	}
	if len(f.rt.Draining("app")) != 0 {
		t.Errorf("scaling left %d draining pools in the router", len(f.rt.Draining("app")))
	}
	for _, n := range []int{0, MaxScale + 1} {
		if err := f.rel.Scale(t.Context(), "app", "web", n, &out); slipway.ErrorCode(err) != slipway.EINVALID {
			t.Errorf("scale to %d: err = %v, want EINVALID", n, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestRestart_RollingLosesNoRequest(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.release("app", "1", &slipway.AppJSON{Formation: map[string]slipway.Formation{"web": {Quantity: ptr(2)}}}); err != nil {
		t.Fatal(err)
	}
	before := f.rel.Processes("app")
	stop := make(chan struct{})
	failures := make(chan string, 1000)
	done := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v1") {
				failures <- got
			}
			n++
		}
	}()
	var out strings.Builder
	err := f.rel.Restart(t.Context(), "app", &out)
	close(stop)
	sent := <-done
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, out.String())
	}
	close(failures)
	for got := range failures {
		t.Errorf("request during the restart got %q", got)
	}
	after := f.rel.Processes("app")
	for i := range before {
		if before[i].PID == after[i].PID {
			t.Errorf("%s kept pid %d", before[i].ID, before[i].PID)
		}
	}
	if sent == 0 {
		t.Error("no request was sent during the restart")
	}
}

func TestRelease_CapsProcessTypesAndInstances(t *testing.T) {
	f := newFixture(t, Config{})
	var procfile slipway.Procfile
	for i := range slipway.MaxProcessTypes + 1 {
		procfile = append(procfile, slipway.Process{Type: fmt.Sprintf("w%d", i), Command: "sleep 60"})
	}
	err := f.rel.Release(t.Context(), Spec{App: "app", Version: 1, Dir: t.TempDir(), Procfile: procfile}, io.Discard)
	if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), "at most 16") {
		t.Errorf("a Procfile of %d types: err = %v", len(procfile), err)
	}
	qty := func(n int) slipway.Formation { return slipway.Formation{Quantity: &n} }
	err = f.rel.Release(t.Context(), Spec{App: "app", Version: 2, Dir: t.TempDir(),
		Procfile: slipway.Procfile{{Type: "a", Command: "sleep 60"}, {Type: "b", Command: "sleep 60"}, {Type: "c", Command: "sleep 60"}},
		AppJSON:  &slipway.AppJSON{Formation: map[string]slipway.Formation{"a": qty(30), "b": qty(30), "c": qty(5)}}}, io.Discard)
	if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), "would run 65 instances: at most 64") {
		t.Errorf("65 instances: err = %v", err)
	}
	if procs := f.rel.Processes("app"); len(procs) != 0 {
		t.Errorf("refused releases started %d processes", len(procs))
	}
}

// failingRecorder records nothing: Live fails, as on a full disk, after
// telling what instances it was asked to record.
type failingRecorder struct {
	noRecorder
	recs chan []slipway.InstanceRecord
}

func (f failingRecorder) Live(_ string, _ slipway.Version, _ Spec, recs []slipway.InstanceRecord) error {
	f.recs <- recs
	return errors.New("database or disk is full")
}

// A release whose instances cannot be recorded does not go live: a start
// after a crash must always find the live release's instances to adopt.
func TestRelease_UnrecordedInstancesNeverGoLive(t *testing.T) {
	recs := make(chan []slipway.InstanceRecord, 1)
	f := newFixture(t, Config{Recorder: failingRecorder{recs: recs}})
	_, err := f.release("app", "1", nil)
	if err == nil || !strings.Contains(err.Error(), "database or disk is full") {
		t.Fatalf("err = %v, want the recorder's", err)
	}
	if got := <-recs; len(got) != 1 || got[0].PID <= 0 || got[0].Port <= 0 {
		t.Errorf("Live was asked to record %+v, want the one healthy instance with its pid and port", got)
	}
	if got := f.get(http.DefaultClient, "app"); strings.HasPrefix(got, "200") {
		t.Errorf("the unrecorded release serves: %q", got)
	}
	if procs := f.rel.Processes("app"); len(procs) != 0 {
		t.Errorf("processes = %+v, want none", procs)
	}
}
