package main

import (
	"io"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// A small sleep run: sessions pinned to three releases, every pool let
// sleep once and woken by its sessions, and every answer a 200 from the
// session's own release. The wake's latency is the run's to report, not
// this test's to assert.
func TestSleep_PinnedSessionsWakeTheirOwnRelease(t *testing.T) {
	testutil.SkipIfShortCompile(t)
	testutil.NeedTool(t, "git", "git")
	testutil.NeedTool(t, "ssh", "openssh-client")
	testutil.NeedTool(t, "ssh-keygen", "openssh-client")
	testutil.NeedTool(t, "/usr/bin/python3", "python3") // the app's, on the system's PATH
	cfg := defaultSleepConfig()
	cfg.Slipway = slipwayBin
	cfg.Releases = 3
	cfg.Sessions = 3
	cfg.Cycles = 1
	cfg.FollowUps = 2
	cfg.Instances = 1
	cfg.DrainSleepAfter = time.Second
	rep, out := runForTest(t, cfg, 2*time.Minute)
	r := rep.sleep
	if r == nil {
		t.Fatalf("no sleep result\n%s", out.String())
	}
	if got, want := r.sent, 3*3*(1+1*(1+2)); got != want {
		t.Errorf("sent %d requests, want %d: a pin, a wake and 2 follow-ups from each of 9 sessions", got, want)
	}
	if r.failed != 0 {
		t.Errorf("failed = %d, want 0", r.failed)
	}
	if r.flipped != 0 {
		t.Errorf("flipped sessions = %d, want 0", r.flipped)
	}
	if len(r.groups) != 3 {
		t.Fatalf("%d releases pinned, want 3", len(r.groups))
	}
	for _, g := range r.groups {
		if r.sleeps[g.release] < 1 || r.woken[g.release] < 1 {
			t.Errorf("slipway's log says %s slept %d and woke %d times, want at least once each", g.release, r.sleeps[g.release], r.woken[g.release])
		}
		if g.release == r.live {
			t.Errorf("sessions are pinned to %s, the release live at the end", g.release)
		}
	}
	if len(r.wakes) != 9 {
		t.Errorf("%d wakes timed, want one for each of 9 sessions", len(r.wakes))
	}
	if t.Failed() {
		r.write(out, true)
		t.Logf("output:\n%s", out.String())
	}
}

func TestParsePS(t *testing.T) {
	text := `INSTANCE  RELEASE         STATE                    PID    PORT   UPTIME  RESTARTS
web.1     v4 (live)       up                       4101   40001  12s     0
web.2     v4 (live)       up                       4102   40002  12s     0
web.1     v2 (draining)   crashed (exit status 1)  4201   40011  3s      2
v1 drains since 20s ago for the sessions pinned to it (3 sessions seen since), last seen 9s ago; sleeping since 6s ago (its processes stopped: the next request pinned to it wakes it): retired once they have been idle until 10:00:00, by 2026-01-01 12:00:00 UTC at the latest (releases:retire loadapp v1 ends it now)
v2 drains since 12s ago for the sessions pinned to it (1 session seen since), last seen 1s ago: retired once they have been idle until 10:00:00, by 2026-01-01 12:00:00 UTC at the latest (releases:retire loadapp v2 ends it now)
`
	pids, sleeping := parsePS(text)
	if got := pids["v4"]; !slices.Equal(got, []int{4101, 4102}) {
		t.Errorf("v4's pids = %v", got)
	}
	if got := pids["v2"]; !slices.Equal(got, []int{4201}) {
		t.Errorf("v2's pids = %v (a state of several words)", got)
	}
	if len(pids["v1"]) != 0 {
		t.Errorf("v1, asleep, has pids %v", pids["v1"])
	}
	if !sleeping["v1"] || sleeping["v2"] || sleeping["v4"] {
		t.Errorf("sleeping = %v, want only v1", sleeping)
	}
}

func TestParseFlags_SleepMode(t *testing.T) {
	c, err := parseFlags([]string{"--mode", "sleep"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultSleepConfig(); !reflect.DeepEqual(c, want) {
		t.Errorf("--mode sleep = %+v, want %+v", c, want)
	}
	c, err = parseFlags([]string{"--mode", "sleep", "--sessions", "4", "--drain-sleep-after", "5s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sessions != 4 || c.DrainSleepAfter != 5*time.Second || c.SessionTTL != DefaultSleepSessionTTL {
		t.Errorf("a flag given with --mode sleep: sessions %d, drain-sleep-after %s, session TTL %s", c.Sessions, c.DrainSleepAfter, c.SessionTTL)
	}
	for _, args := range [][]string{
		{"--mode", "sleep", "--rate", "10"},
		{"--mode", "sleep", "--strategy", "stop-start"},
		{"--mode", "sleep", "--session-ttl", "3s"}, // not above 2 × --drain-sleep-after
		{"--mode", "nap"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if c, err := parseFlags(nil, io.Discard); err != nil || c.Mode != modeLoad || c.DrainSleepAfter != 0 {
		t.Errorf("no flags: mode %q, drain-sleep-after %s, err %v: want a load with slipway's own sleep", c.Mode, c.DrainSleepAfter, err)
	}
}
