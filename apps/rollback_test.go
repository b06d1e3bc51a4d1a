package apps

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/releaser"
)

// crashFiles is a release whose web process exits at once.
var crashFiles = map[string]string{"Procfile": "web: echo crashing on purpose; exit 3\n"}

func TestRollback_RepromotesWarmDrainingPool(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	f.push(appFiles(t), "v2")
	var v1pid int
	for _, p := range f.processes() {
		if p.Release == 1 {
			v1pid = p.PID
		}
	}
	var out strings.Builder
	rel, err := f.svc.Rollback(t.Context(), "app", 0, &out)
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, out.String())
	}
	if rel.Version != 3 || rel.Kind != slipway.KindRollback || rel.RollbackOf != 1 || rel.Status != slipway.StatusLive {
		t.Errorf("rollback release = %+v, want v3, kind rollback of v1, live", rel)
	}
	if !strings.Contains(out.String(), "instances were still running") {
		t.Errorf("rollback did not re-promote the warm pool:\n%s", out.String())
	}
	if got, want := f.statuses(), "v3:live v2:draining v1:retired"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	procs := f.processes()
	if procs[0].Release != 3 || procs[0].PID != v1pid {
		t.Errorf("live instance = %+v, want v1's process (pid %d) serving as v3", procs[0], v1pid)
	}
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 release v1") {
		t.Errorf("got %q, want v1's process", got)
	}
	if log, _ := f.svc.BuildLog(t.Context(), "app", 3); !strings.Contains(string(log), "Rolling back app to v1 as v3") {
		t.Errorf("the rollback's log = %q, want its output", log)
	}
}

func TestRollback_StartsFreshPoolWhenTargetRetired(t *testing.T) {
	f := newFixture(t, releaser.Config{SessionTTL: 50 * time.Millisecond})
	f.push(appFiles(t), "v1")
	f.push(appFiles(t), "v2")
	waitFor(t, "v1 to retire", func() bool { return f.statuses() == "v2:live v1:retired" })
	rel, err := f.svc.Rollback(t.Context(), "app", 1, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 release v3") {
		t.Errorf("got %q, want a fresh v3 pool", got)
	}
	if rel.RollbackOf != 1 {
		t.Errorf("rollback_of = %v, want v1", rel.RollbackOf)
	}
}

func TestRollback_RefusesLiveFailedPrunedAndUnknown(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	if out, err := f.deploy(f.commit(crashFiles, "v2")); err == nil {
		t.Fatalf("crashing release went live:\n%s", out)
	}
	f.push(appFiles(t), "v3")
	// v1 live once, v2 failed, v3 live. Prune v1's directory by hand.
	v1, _ := f.db.FindRelease(t.Context(), "app", 1)
	for _, tc := range []struct {
		to   slipway.Version
		code string
		want string
	}{
		{3, slipway.ECONFLICT, "already live"},
		{2, slipway.EINVALID, "failed"},
		{9, slipway.ENOTFOUND, "no release v9"},
	} {
		_, err := f.svc.Rollback(t.Context(), "app", tc.to, io.Discard)
		if slipway.ErrorCode(err) != tc.code || !strings.Contains(slipway.ErrorMessage(err), tc.want) {
			t.Errorf("rollback to %v: err = %v, want %s with %q", tc.to, err, tc.code, tc.want)
		}
	}
	if err := builder.Remove(v1.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Rollback(t.Context(), "app", 1, io.Discard); slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), "pruned") {
		t.Errorf("rollback to a pruned release: err = %v", err)
	}
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 release v3") {
		t.Errorf("refused rollbacks changed what is live: %q", got)
	}
	if _, err := f.svc.Rollback(context.Background(), "nope", 0, io.Discard); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("rollback of an unknown app: err = %v, want ENOTFOUND", err)
	}
}

// A value stored with config:set --no-restart (pending) survives a
// rollback, still pending, and the rollback says so; the rollback runs
// with its target's config.
func TestRollback_KeepsPendingConfigPending(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	if _, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"LIVE": "yes"}, nil, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"LATER": "1"}, nil, true, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rel, err := f.svc.Rollback(t.Context(), "app", 1, &out)
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, out.String())
	}
	if _, ok := rel.Config["LATER"]; ok || rel.Config["LIVE"] != "" {
		t.Errorf("the rollback runs with %v, want v1's config", rel.Config)
	}
	stored, _ := f.svc.Config(t.Context(), "app")
	if stored["LATER"] != "1" || stored["LIVE"] != "" {
		t.Errorf("stored config after the rollback = %v, want v1's with LATER=1 pending", stored)
	}
	if !strings.Contains(out.String(), "Pending config stays pending (config:set --no-restart): LATER; it goes live with the next release") {
		t.Errorf("the rollback does not say LATER stays pending:\n%s", out.String())
	}
}
