package sqlite

import (
	"slices"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestDB_Domains(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	mustCreate(t, db, "shop")
	mustCreate(t, db, "blog")
	if err := db.AddDomains(ctx, "shop", []string{"shop.example.com", "*.shop.example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddDomains(ctx, "shop", []string{"shop.example.com"}); err != nil {
		t.Errorf("adding a domain the app has: %v", err)
	}
	err := db.AddDomains(ctx, "blog", []string{"blog.example.com", "shop.example.com"})
	if slipway.ErrorCode(err) != slipway.ECONFLICT || !strings.Contains(err.Error(), "belongs to app shop") {
		t.Errorf("adding shop's domain to blog: %v", err)
	}
	if got, _ := db.AppDomains(ctx, "blog"); len(got) != 0 {
		t.Errorf("a refused add left domains: %v", got)
	}
	got, err := db.AppDomains(ctx, "shop")
	if err != nil || !slices.Equal(got, []string{"*.shop.example.com", "shop.example.com"}) {
		t.Errorf("AppDomains = %v, %v", got, err)
	}
	err = db.RemoveDomains(ctx, "shop", []string{"shop.example.com", "nope.example.com"})
	if slipway.ErrorCode(err) != slipway.ENOTFOUND || !strings.Contains(err.Error(), "nope.example.com") {
		t.Errorf("removing a domain shop lacks: %v", err)
	}
	if got, _ := db.AppDomains(ctx, "shop"); len(got) != 2 {
		t.Errorf("a refused remove removed some: %v", got)
	}
	if err := db.RemoveDomains(ctx, "shop", []string{"shop.example.com"}); err != nil {
		t.Fatal(err)
	}
	db.AddDomains(ctx, "blog", []string{"blog.example.com"})
	all, err := db.AllDomains(ctx)
	if err != nil || !slices.Equal(all["shop"], []string{"*.shop.example.com"}) || !slices.Equal(all["blog"], []string{"blog.example.com"}) {
		t.Errorf("AllDomains = %v, %v", all, err)
	}
	if err := db.ClearDomains(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteApp(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if all, _ := db.AllDomains(ctx); len(all) != 0 {
		t.Errorf("after clear and delete: %v", all)
	}
	if _, err := db.AppDomains(ctx, "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("AppDomains of an unknown app: %v", err)
	}
}
