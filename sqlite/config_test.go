package sqlite

import (
	"reflect"
	"testing"

	"github.com/slipway/slipway"
)

func TestDB_AppConfigSetUnsetRoundTrip(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	if _, err := db.AppConfig(ctx, "shop"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("config of an unknown app: err = %v, want ENOTFOUND", err)
	}
	if err := db.CreateRelease(ctx, &slipway.Release{App: "shop", Kind: slipway.KindPush, Status: slipway.StatusBuilding}); err != nil {
		t.Fatal(err)
	}
	odd := "a b = 'c' \"d\"\nsecond line\n"
	got, err := db.SetAppConfig(ctx, "shop", map[string]string{"A": "1", "ODD": odd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"A": "1", "ODD": odd}; !reflect.DeepEqual(got, want) {
		t.Errorf("config = %q, want %q", got, want)
	}
	got, err = db.SetAppConfig(ctx, "shop", map[string]string{"B": "2"}, []string{"A", "MISSING"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"B": "2", "ODD": odd}; !reflect.DeepEqual(got, want) {
		t.Errorf("config = %q, want %q", got, want)
	}
	again, _ := db.AppConfig(ctx, "shop")
	if !reflect.DeepEqual(again, got) {
		t.Errorf("AppConfig = %q, want %q", again, got)
	}
	for _, bad := range []map[string]string{{"lower": "x"}, {"PORT": "1"}, {"SLIPWAY_APP": "x"}, {"NUL": "a\x00b"}} {
		if _, err := db.SetAppConfig(ctx, "shop", bad, nil); slipway.ErrorCode(err) != slipway.EINVALID {
			t.Errorf("SetAppConfig(%q): err = %v, want EINVALID", bad, err)
		}
	}
}

func TestDB_CreateAppThenRelease(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	if err := db.CreateApp(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateApp(ctx, "fresh"); slipway.ErrorCode(err) != slipway.ECONFLICT {
		t.Errorf("second CreateApp: err = %v, want ECONFLICT", err)
	}
	if rels, err := db.ListReleases(ctx, "fresh"); err != nil || len(rels) != 0 {
		t.Errorf("ListReleases of a new app = %v, %v; want none", rels, err)
	}
	r := &slipway.Release{App: "fresh", Kind: slipway.KindPush, Status: slipway.StatusBuilding}
	if err := db.CreateRelease(ctx, r); err != nil || r.Version != 1 {
		t.Errorf("first release of a created app: v%d, %v", r.Version, err)
	}
}
