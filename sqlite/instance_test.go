package sqlite

import (
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestDB_SetInstancesReplacesAndListInstancesOrders(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	mustCreate(t, db, "blog")
	mustCreate(t, db, "blog")
	at := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)

	if err := db.SetInstances(ctx, "blog", 1, []slipway.InstanceRecord{
		{ID: "web.1", PID: 11, Port: 5001, State: "draining", StartedAt: at},
		{ID: "old.1", PID: 9},
	}); err != nil {
		t.Fatal(err)
	}
	// Replaces v1's set: old.1 goes.
	if err := db.SetInstances(ctx, "blog", 1, []slipway.InstanceRecord{
		{ID: "worker.1", PID: 12, State: "draining"},
		{ID: "web.1", PID: 11, Port: 5001, State: "draining", StartedAt: at},
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetInstances(ctx, "blog", 2, []slipway.InstanceRecord{
		{Release: 99, ID: "web.2", PID: 22, Port: 5003, State: "up", StartedAt: at.Add(time.Minute)},
		{ID: "web.1", PID: 21, Port: 5002, State: "up", StartedAt: at.Add(time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}

	got, err := db.ListInstances(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	want := []slipway.InstanceRecord{
		{Release: 2, ID: "web.1", PID: 21, Port: 5002, State: "up", StartedAt: at.Add(time.Minute)},
		{Release: 2, ID: "web.2", PID: 22, Port: 5003, State: "up", StartedAt: at.Add(time.Minute)},
		{Release: 1, ID: "web.1", PID: 11, Port: 5001, State: "draining", StartedAt: at},
		{Release: 1, ID: "worker.1", PID: 12, State: "draining"},
	}
	checkInstances(t, got, want)

	// nil deletes v1's instances, and leaves v2's.
	if err := db.SetInstances(ctx, "blog", 1, nil); err != nil {
		t.Fatal(err)
	}
	got, err = db.ListInstances(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	checkInstances(t, got, want[:2])
}

func checkInstances(t *testing.T, got, want []slipway.InstanceRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("instances = %+v, want %+v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Release != w.Release || g.ID != w.ID || g.PID != w.PID || g.Port != w.Port || g.State != w.State ||
			!g.StartedAt.Equal(w.StartedAt) || g.StartedAt.IsZero() != w.StartedAt.IsZero() {
			t.Errorf("instance %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestDB_ListInstancesEmptyAndUnknown(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	mustCreate(t, db, "blog")
	got, err := db.ListInstances(t.Context(), "blog")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("ListInstances of an app without instances = %#v, %v; want an empty slice", got, err)
	}
	if _, err := db.ListInstances(t.Context(), "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("ListInstances(nope): err = %v, want ENOTFOUND", err)
	}
}

func TestDB_SetInstancesErrors(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	mustCreate(t, db, "blog")
	if err := db.SetInstances(t.Context(), "blog", 1, []slipway.InstanceRecord{{ID: "web.1"}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		app  string
		v    slipway.Version
		ins  []slipway.InstanceRecord
		code string
	}{
		{"unknown app", "nope", 1, nil, slipway.ENOTFOUND},
		{"unknown release", "blog", 2, []slipway.InstanceRecord{{ID: "web.1"}}, slipway.ENOTFOUND},
		{"empty id", "blog", 1, []slipway.InstanceRecord{{ID: ""}}, slipway.EINVALID},
		{"repeated id", "blog", 1, []slipway.InstanceRecord{{ID: "web.1"}, {ID: "web.1"}}, slipway.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := db.SetInstances(t.Context(), tt.app, tt.v, tt.ins)
			if got := slipway.ErrorCode(err); got != tt.code {
				t.Errorf("code = %q, want %q (err: %v)", got, tt.code, err)
			}
		})
	}
	// The failed calls left the recorded set alone.
	got, err := db.ListInstances(t.Context(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	checkInstances(t, got, []slipway.InstanceRecord{{Release: 1, ID: "web.1"}})
}
