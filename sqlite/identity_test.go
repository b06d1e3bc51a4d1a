package sqlite

import (
	"testing"

	"github.com/slipway/slipway"
)

func TestDB_AppUIDIsStableAndNeverReused(t *testing.T) {
	path := testPath(t)
	db := mustOpenDB(t, path)
	mustCreate(t, db, "blog")
	mustCreate(t, db, "shop")
	blog, err := db.AppUID(t.Context(), "blog", 5000)
	if err != nil || blog != 5000 {
		t.Fatalf("first uid = %d, %v; want the base", blog, err)
	}
	shop, _ := db.AppUID(t.Context(), "shop", 5000)
	if again, _ := db.AppUID(t.Context(), "blog", 5000); again != blog || shop != 5001 {
		t.Errorf("blog %d then %d, shop %d: want stable and distinct", blog, again, shop)
	}
	if err := db.DeleteApp(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "shop")
	if reborn, _ := db.AppUID(t.Context(), "shop", 5000); reborn != 5002 {
		t.Errorf("a new app named shop got uid %d, want a fresh 5002", reborn)
	}
	if _, err := db.AppUID(t.Context(), "nope", 5000); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("unknown app: %v", err)
	}
}
