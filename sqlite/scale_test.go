package sqlite

import (
	"testing"

	"github.com/slipway/slipway"
)

func TestDB_AppScale(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	mustCreate(t, db, "blog")
	if err := db.SetAppScale(t.Context(), "blog", map[string]int{"web": 3, "worker": 0}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAppScale(t.Context(), "blog", map[string]int{"web": 2}); err != nil {
		t.Fatal(err)
	}
	got, err := db.AppScale(t.Context(), "blog")
	if err != nil || got["web"] != 2 || got["worker"] != 0 || len(got) != 2 {
		t.Errorf("AppScale = %v, %v; want web=2 worker=0", got, err)
	}
	if err := db.SetAppScale(t.Context(), "nope", map[string]int{"web": 1}); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("SetAppScale of an unknown app: %v", err)
	}
	if _, err := db.AppScale(t.Context(), "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("AppScale of an unknown app: %v", err)
	}
}

func TestDB_SetLiveKeepsOneLiveRelease(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	mustCreate(t, db, "blog")
	mustCreate(t, db, "blog")
	mustCreate(t, db, "shop")
	for _, v := range []slipway.Version{1, 2} {
		if err := db.SetLive(t.Context(), "blog", v, []byte(`{}`), "/rel/"+v.String()); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetLive(t.Context(), "shop", 1, nil, ""); err != nil {
		t.Fatal(err)
	}
	rels, _ := db.ListReleases(t.Context(), "blog")
	if rels[0].Status != slipway.StatusLive || rels[1].Status != slipway.StatusDraining {
		t.Errorf("statuses = %s %s, want live draining", rels[0].Status, rels[1].Status)
	}
	if rels[0].StartedAt.IsZero() || rels[0].Dir != "/rel/v2" || string(rels[0].Spec) != "{}" {
		t.Errorf("live release = %+v", rels[0])
	}
	if err := db.SetLive(t.Context(), "blog", 9, nil, ""); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("SetLive of an unknown release: %v", err)
	}
	if rels, _ := db.ListReleases(t.Context(), "blog"); rels[0].Status != slipway.StatusLive {
		t.Errorf("a refused SetLive changed the live release: %s", rels[0].Status)
	}
}
