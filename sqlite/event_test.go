package sqlite

import (
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestDB_Events(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	mustCreate(t, db, "shop")
	mustCreate(t, db, "blog")
	defer func(n int) { maxEventsPerApp = n }(maxEventsPerApp)
	maxEventsPerApp = 3
	for _, d := range []string{"web=1", "web=2", "web=3", "web=4"} {
		if err := db.AddEvent(ctx, &slipway.Event{App: "shop", Kind: slipway.EventScale, By: "alice", Detail: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddEvent(ctx, &slipway.Event{App: "blog", Kind: slipway.EventRestart}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ListEvents(ctx, "shop", 10)
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range got {
		if e.App != "shop" || e.Kind != slipway.EventScale || e.By != "alice" || e.At.IsZero() {
			t.Errorf("event = %+v", e)
		}
		details = append(details, e.Detail)
	}
	if want := "web=4 web=3 web=2"; strings.Join(details, " ") != want {
		t.Errorf("shop's events = %q, want the newest three, newest first: %q", strings.Join(details, " "), want)
	}
	if got, _ := db.ListEvents(ctx, "shop", 1); len(got) != 1 || got[0].Detail != "web=4" {
		t.Errorf("limit 1 = %+v", got)
	}
	if got, _ := db.ListEvents(ctx, "blog", 10); len(got) != 1 {
		t.Errorf("blog's events = %+v (another app's trimming reached it?)", got)
	}
	if err := db.AddEvent(ctx, &slipway.Event{App: "nope", Kind: slipway.EventScale}); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("an event of an unknown app: %v", err)
	}
	if _, err := db.ListEvents(ctx, "nope", 10); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("events of an unknown app: %v", err)
	}
	if err := db.DeleteApp(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "shop")
	if got, _ := db.ListEvents(ctx, "shop", 10); len(got) != 0 {
		t.Errorf("a new app of a destroyed one's name has its events: %+v", got)
	}
}
