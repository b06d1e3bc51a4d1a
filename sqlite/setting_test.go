package sqlite

import (
	"testing"

	"github.com/slipway/slipway"
)

func TestDB_AppSettings(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	mustCreate(t, db, "shop")
	mustCreate(t, db, "blog")
	if v, err := db.AppSetting(ctx, "shop", slipway.SettingRedirect); v != "" || err != nil {
		t.Errorf("unset setting = %q, %v", v, err)
	}
	db.SetAppSetting(ctx, "shop", slipway.SettingRedirect, "off")
	db.SetAppSetting(ctx, "blog", slipway.SettingRedirect, "off")
	db.SetAppSetting(ctx, "blog", slipway.SettingRedirect, "")
	if v, _ := db.AppSetting(ctx, "shop", slipway.SettingRedirect); v != "off" {
		t.Errorf("shop's redirect = %q", v)
	}
	all, err := db.AllAppSettings(ctx, slipway.SettingRedirect)
	if err != nil || len(all) != 1 || all["shop"] != "off" {
		t.Errorf("AllAppSettings = %v, %v", all, err)
	}
	if err := db.SetAppSetting(ctx, "nope", "k", "v"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("a setting of an unknown app: %v", err)
	}
}
