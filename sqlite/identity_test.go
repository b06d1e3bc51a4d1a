package sqlite

import (
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestDB_AppUIDIsStableAndNeverReused(t *testing.T) {
	path := testPath(t)
	db := mustOpenDB(t, path)
	mustCreate(t, db, "blog")
	mustCreate(t, db, "shop")
	r := slipway.UIDRange{Base: 5000, Count: 100}
	blog, err := db.AppUID(t.Context(), "blog", r)
	if err != nil || blog != 5000 {
		t.Fatalf("first uid = %d, %v; want the base", blog, err)
	}
	shop, _ := db.AppUID(t.Context(), "shop", r)
	if again, _ := db.AppUID(t.Context(), "blog", r); again != blog || shop != 5001 {
		t.Errorf("blog %d then %d, shop %d: want stable and distinct", blog, again, shop)
	}
	if err := db.DeleteApp(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "shop")
	if reborn, _ := db.AppUID(t.Context(), "shop", r); reborn != 5002 {
		t.Errorf("a new app named shop got uid %d, want a fresh 5002", reborn)
	}
	if _, err := db.AppUID(t.Context(), "nope", r); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("unknown app: %v", err)
	}
}

func TestDB_AppUIDSkipsTakenUIDsAndSaysWhenNoneIsLeft(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	for _, app := range []string{"blog", "shop", "wiki"} {
		mustCreate(t, db, app)
	}
	taken := map[int]bool{7000: true, 7002: true}
	r := slipway.UIDRange{Base: 7000, Count: 3, Free: func(uid int) bool { return !taken[uid] }}
	if blog, err := db.AppUID(t.Context(), "blog", r); err != nil || blog != 7001 {
		t.Fatalf("blog got %d, %v; want 7001, the first uid nobody has", blog, err)
	}
	_, err := db.AppUID(t.Context(), "shop", r)
	if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), "7000-7002") {
		t.Fatalf("range used up: %v", err)
	}
	lo, hi, ok, err := db.UIDSpan(t.Context())
	if err != nil || !ok || lo != 7001 || hi != 7001 {
		t.Errorf("span = %d-%d %v %v", lo, hi, ok, err)
	}
}
