package apps

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/releaser"
)

// pids returns the pids of the app's processes, sorted.
func pids(procs []releaser.ProcessStatus) []int {
	var out []int
	for _, p := range procs {
		out = append(out, p.PID)
	}
	slices.Sort(out)
	return out
}

// Freeze waits for the use case in progress, holds new ones back while
// frozen, lets them go on after a thaw, and makes them give up after a
// handover.
func TestFreeze_WaitsHoldsAndHandsOver(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	unlock, err := f.svc.lock(t.Context(), "app", &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	if _, err := f.svc.Freeze(short, func() bool { return false }); err == nil {
		t.Fatal("Freeze returned while a use case held a lock")
	}
	cancel()
	unlock()
	busy := true
	if _, err := f.svc.Freeze(short, func() bool { return busy }); err == nil {
		t.Fatal("Freeze returned while busy (a push on its way) said so")
	}
	busy = false
	thaw, err := f.svc.Freeze(t.Context(), func() bool { return busy })
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		_, err := f.svc.SetConfig(context.Background(), "app", map[string]string{"A": "1"}, nil, true, &strings.Builder{})
		held <- err
	}()
	select {
	case err := <-held:
		t.Fatalf("a config change ran while frozen: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	thaw(false)
	if err := <-held; err != nil {
		t.Fatalf("the config change after the thaw: %v", err)
	}

	thaw, err = f.svc.Freeze(t.Context(), func() bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := f.svc.SetConfig(context.Background(), "app", map[string]string{"A": "2"}, nil, true, &strings.Builder{})
		held <- err
	}()
	waitFor(t, "the config change to wait", func() bool { return len(held) == 0 && f.svc.lockRefs("app") == 0 })
	thaw(true)
	if err := <-held; !errors.Is(err, errHandedOver) {
		t.Errorf("a change that waited through a handover: %v, want %v", err, errHandedOver)
	}
}

// The use cases of an upgrade: the first Service freezes and detaches;
// a second one on the same data dir takes the same processes back, live
// and draining, and serves the pinned session from the draining pool.
func TestHandover_ASecondServiceAdoptsTheProcesses(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	jar, _ := cookiejar.New(nil)
	pinned := &http.Client{Jar: jar}
	if got := f.get(pinned); !strings.HasPrefix(got, "200 release v1") {
		t.Fatalf("GET = %q", got)
	}
	files := appFiles(t)
	files["VERSION"] = "v2" // another commit
	f.push(files, "v2")
	before := pids(f.processes())
	if len(before) != 2 {
		t.Fatalf("processes before: %+v", f.processes())
	}
	thaw, err := f.svc.Freeze(t.Context(), func() bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Detach()
	old := f.svc
	f.svc = f.start(releaser.Config{})
	thaw(true)
	old.Abandon()
	if after := pids(f.processes()); !slices.Equal(after, before) {
		t.Errorf("pids after the handover %v, before %v", after, before)
	}
	if got := f.statuses(); got != "v2:live v1:draining" {
		t.Errorf("history after the handover: %s", got)
	}
	if got := f.get(pinned); !strings.HasPrefix(got, "200 release v1") {
		t.Errorf("the pinned session got %q after the handover, want v1", got)
	}
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 release v2") {
		t.Errorf("a new session got %q after the handover, want v2", got)
	}
}
