package e2e

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A draining release no request reached for --drain-sleep-after sleeps:
// its processes end, clients without a pin to it stay on the live
// release and never wake it, and a client pinned to it gets it back,
// woken, with no error and no other release in between.
func TestSleep_APinnedClientWakesItsOldRelease(t *testing.T) {
	s := startServer(t, "--drain-sleep-after", "1s", "--session-ttl", "1h")
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("nap"))
	s.mustGit(dir, "push", "deploy", "main")
	pinned := newClient(t)
	if got := s.release(pinned, "nap"); got != "v1" {
		t.Fatalf("the first client got %s", got)
	}
	v1 := s.appPIDs("http.server")
	s.commit(dir, "v2", staticApp("v2"))
	s.mustGit(dir, "push", "deploy", "main")
	sleeping := func() bool {
		out, _ := s.ssh(s.key, "ps", "nap")
		return strings.Contains(out, "sleeping since")
	}
	waitFor(t, "v1 to sleep", sleeping)
	waitFor(t, "v1's processes to end", func() bool { // as many as v1 had, now v2's
		now := s.appPIDs("http.server")
		return len(now) == len(v1) && !slices.Contains(now, v1[0])
	})
	for range 5 {
		if got := s.release(newClient(t), "nap"); got != "v2" {
			t.Fatalf("a new client got %s, want the live v2", got)
		}
	}
	if !sleeping() {
		t.Fatal("a client without a pin to v1 woke it")
	}
	// kill -9 of slipway, and a new start: v1 is taken back asleep.
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.start()
	if !sleeping() {
		t.Fatalf("after kill -9 and a start, v1 is not sleeping:\n%s", s.logText())
	}
	start := time.Now()
	if got := s.release(pinned, "nap"); got != "v1" {
		t.Fatalf("the client pinned to v1 got %s after v1 slept, want v1 woken", got)
	}
	t.Logf("the pinned request that woke v1 took %s", time.Since(start).Round(time.Millisecond))
	if sleeping() {
		t.Error("ps still says v1 sleeps after it woke")
	}
	if got := s.appPIDs("http.server"); len(got) != 2*len(v1) || slices.Contains(got, v1[0]) {
		t.Errorf("app processes %v after the wake, want v2's and new ones of v1 (v1's were %v)", got, v1)
	}
	if got := s.release(pinned, "nap"); got != "v1" {
		t.Errorf("the pinned client's next request got %s", got)
	}
	if log := s.logText(); !strings.Contains(log, `msg="release sleeping"`) || !strings.Contains(log, `msg="release woken"`) {
		t.Errorf("the log does not say v1 slept and woke")
	}
}

// ps:autosleep: an idle app's web processes stop, apps:list and ps say it
// sleeps, a kill -9 and a start of slipway keep it asleep, and the next
// request starts it and is answered, waiting for the health check.
func TestAutosleep_AnIdleAppSleepsAndWakesOnARequest(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "push", s.remote("idle"), "main")
	running := s.appPIDs("http.server")
	if out, err := s.ssh(s.key, "ps:autosleep", "idle", "on", "--after", "1s"); err != nil || !strings.Contains(out, "idle sleeps after 1s without a request") {
		t.Fatalf("ps:autosleep: %v\n%s", err, out)
	}
	asleep := func() bool {
		out, _ := s.ssh(s.key, "ps", "idle")
		return strings.Contains(out, "idle is sleeping")
	}
	waitFor(t, "the app to sleep", asleep)
	waitFor(t, "its processes to end", func() bool { return len(s.appPIDs("http.server")) == 0 })
	if out, _ := s.ssh(s.key, "apps:list"); !strings.Contains(out, "sleeping") {
		t.Errorf("apps:list does not say the app sleeps:\n%s", out)
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.start()
	if !asleep() {
		t.Fatalf("after kill -9 and a start the app does not sleep:\n%s", s.logText())
	}
	start := time.Now()
	if got := s.release(newClient(t), "idle"); got != "v1" {
		t.Fatalf("the request that woke the app got %s", got)
	}
	t.Logf("the request that woke the app took %s", time.Since(start).Round(time.Millisecond))
	if now := s.appPIDs("http.server"); len(now) != len(running) {
		t.Errorf("app processes %v after the wake, want as many as before it slept (%v)", now, running)
	}
	if out, err := s.ssh(s.key, "ps:autosleep", "idle", "off"); err != nil || !strings.Contains(out, "no longer sleeps") {
		t.Errorf("ps:autosleep off: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "ps:autosleep", "idle", "on", "--after", "soon"); err == nil || !strings.Contains(out, "--after \"soon\"") {
		t.Errorf("a bad --after: %v\n%s", err, out)
	}
}

// --max-draining: beyond it the oldest draining release is retired, and
// the sessions pinned to it move to the live release.
func TestMaxDraining_TheOldestIsRetiredBeyondIt(t *testing.T) {
	s := startServer(t, "--max-draining", "2")
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("cap"))
	var clients []*http.Client
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		s.commit(dir, v, staticApp(v))
		s.mustGit(dir, "push", "deploy", "main")
		c := newClient(t)
		if got := s.release(c, "cap"); got != v {
			t.Fatalf("the client after the push of %s got %s", v, got)
		}
		clients = append(clients, c)
	}
	want := []string{"v4 (live)", "v3 (draining)", "v2 (draining)"}
	waitFor(t, "two releases draining", func() bool { return slices.Equal(s.psReleases("cap"), want) })
	for i, want := range []string{"v4", "v2", "v3", "v4"} {
		if got := s.release(clients[i], "cap"); got != want {
			t.Errorf("the client pinned to v%d got %s, want %s", i+1, got, want)
		}
	}
	if log := s.logText(); !strings.Contains(log, "more than 2 draining releases") {
		t.Errorf("the log does not say why v1 was retired")
	}
}

// Pushes and config changes with a session pinned to every release, then
// no traffic: soon only the live release's processes run (the oldest
// beyond --max-draining retired, the rest asleep).
func TestSleep_OnlyTheLiveReleaseRunsOnceTrafficStops(t *testing.T) {
	s := startServer(t, "--drain-sleep-after", "1s")
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("busy"))
	s.mustGit(dir, "push", "deploy", "main")
	live := len(s.appPIDs("http.server"))
	pin := func() { s.release(newClient(t), "busy") } // a session on the release live now
	pin()
	for i := range 3 {
		s.commit(dir, "push "+strconv.Itoa(i), staticApp("v1"))
		s.mustGit(dir, "push", "deploy", "main")
		pin()
		if out, err := s.ssh(s.key, "config:set", "busy", "N="+strconv.Itoa(i)); err != nil {
			t.Fatalf("config:set: %v\n%s", err, out)
		}
		pin()
	}
	waitFor(t, "only the live release's processes", func() bool { return len(s.appPIDs("http.server")) == live })
	ps, _ := s.ssh(s.key, "ps", "busy")
	if strings.Count(ps, " drains since ") != 3 || strings.Count(ps, "sleeping since") != 3 {
		t.Errorf("ps, want 3 draining releases (--max-draining), all asleep:\n%s", ps)
	}
}
