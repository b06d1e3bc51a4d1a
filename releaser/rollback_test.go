package releaser

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// statuses returns the app's history as "v3:live v2:draining v1:retired".
func (f *fixture) statuses(app string) string {
	f.t.Helper()
	rels, err := f.db.ListReleases(context.Background(), app)
	if err != nil {
		f.t.Fatal(err)
	}
	var parts []string
	for _, r := range rels {
		parts = append(parts, r.Version.String()+":"+r.Status)
	}
	return strings.Join(parts, " ")
}

func TestRollback_RepromotesWarmDrainingPool(t *testing.T) {
	f := newFixture(t, Config{})
	for range 2 {
		if _, err := f.release("app", "1", nil); err != nil {
			t.Fatal(err)
		}
	}
	procs, _ := f.rel.Processes("app")
	var v1pid int
	for _, p := range procs {
		if p.Release == 1 {
			v1pid = p.PID
		}
	}
	var out strings.Builder
	rel, err := f.rel.Rollback(t.Context(), "app", 0, slipway.Release{PusherComment: "test"}, &out)
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, out.String())
	}
	if rel.Version != 3 || rel.Kind != slipway.KindRollback || rel.RollbackOf != 1 || rel.Status != slipway.StatusLive {
		t.Errorf("rollback release = %+v, want v3, kind rollback of v1, live", rel)
	}
	if !strings.Contains(out.String(), "instances were still running") {
		t.Errorf("rollback did not re-promote the warm pool:\n%s", out.String())
	}
	if got, want := f.statuses("app"), "v3:live v2:draining v1:retired"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	procs, _ = f.rel.Processes("app")
	if procs[0].Release != 3 || procs[0].PID != v1pid {
		t.Errorf("live instance = %+v, want v1's process (pid %d) serving as v3", procs[0], v1pid)
	}
	if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v1") {
		t.Errorf("got %q, want v1's process", got)
	}
}

func TestRollback_StartsFreshPoolWhenTargetRetired(t *testing.T) {
	f := newFixture(t, Config{SessionTTL: 50 * time.Millisecond})
	for range 2 {
		if _, err := f.release("app", "1", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "v1 to retire", func() bool { return f.statuses("app") == "v2:live v1:retired" })
	rel, err := f.rel.Rollback(t.Context(), "app", 1, slipway.Release{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v3") {
		t.Errorf("got %q, want a fresh v3 pool", got)
	}
	if rel.RollbackOf != 1 {
		t.Errorf("rollback_of = %v, want v1", rel.RollbackOf)
	}
}

func TestRollback_RefusesLiveFailedPrunedAndUnknown(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.release("app", "crash", nil); err == nil {
		t.Fatal("crashing release went live")
	}
	if _, err := f.release("app", "1", nil); err != nil {
		t.Fatal(err)
	}
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
		_, err := f.rel.Rollback(t.Context(), "app", tc.to, slipway.Release{}, io.Discard)
		if slipway.ErrorCode(err) != tc.code || !strings.Contains(slipway.ErrorMessage(err), tc.want) {
			t.Errorf("rollback to %v: err = %v, want %s with %q", tc.to, err, tc.code, tc.want)
		}
	}
	os.RemoveAll(v1.Dir)
	if _, err := f.rel.Rollback(t.Context(), "app", 1, slipway.Release{}, io.Discard); slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), "pruned") {
		t.Errorf("rollback to a pruned release: err = %v", err)
	}
	if got := f.get(http.DefaultClient, "app"); !strings.HasPrefix(got, "200 release v3") {
		t.Errorf("refused rollbacks changed what is live: %q", got)
	}
}

func TestPrune_KeepsLiveDrainingAndNewest(t *testing.T) {
	f := newFixture(t, Config{SessionTTL: 50 * time.Millisecond})
	for range 5 {
		if _, err := f.release("app", "1", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "old releases to retire", func() bool { return strings.Count(f.statuses("app"), "retired") == 4 })
	var removed []string
	if err := f.rel.Prune(t.Context(), 2, func(dir string) error {
		removed = append(removed, dir)
		return os.RemoveAll(dir)
	}); err != nil {
		t.Fatal(err)
	}
	if len(removed) != 3 {
		t.Errorf("removed %d directories, want 3 (keep 2 of 5)", len(removed))
	}
	rels, _ := f.db.ListReleases(t.Context(), "app")
	for _, r := range rels {
		if want := r.Version <= 3; r.Pruned != want {
			t.Errorf("%s pruned = %v, want %v", r.Version, r.Pruned, want)
		}
	}
}
