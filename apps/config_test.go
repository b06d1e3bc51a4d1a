package apps

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

func TestSetConfig_MakesAConfigReleaseWithItsOwnLog(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	var out strings.Builder
	rel, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"GREETING": "hi there"}, nil, false, &out)
	if err != nil {
		t.Fatalf("config:set: %v\n%s", err, out.String())
	}
	if rel.Version != 2 || rel.Kind != slipway.KindConfig || rel.Subject != "Set GREETING" || rel.Config["GREETING"] != "hi there" {
		t.Errorf("config release = %+v", rel)
	}
	if got := f.get(http.DefaultClient); got != "200 release v2 web.1 hi there" {
		t.Errorf("got %q, want the new config live", got)
	}
	if log, _ := f.svc.BuildLog(t.Context(), "app", 2); !strings.Contains(string(log), "app: Set GREETING as v2") {
		t.Errorf("config release log = %q", log)
	}
}

func TestSetConfig_NoRestartStoresForTheNextRelease(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	var out strings.Builder
	if rel, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"GREETING": "later"}, nil, true, &out); err != nil || rel != nil {
		t.Fatalf("config:set --no-restart = %v, %v", rel, err)
	}
	if got := f.statuses(); got != "v1:live" {
		t.Errorf("history = %q: --no-restart makes no release", got)
	}
	f.push(appFiles(t), "v2")
	if got := f.get(http.DefaultClient); got != "200 release v2 web.1 later" {
		t.Errorf("got %q, want the stored config in the next push", got)
	}
	if _, err := f.svc.SetConfig(t.Context(), "nope", nil, []string{"A"}, false, &out); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("config of an unknown app: err = %v", err)
	}
}

// A config change whose release does not go live leaves the stored config
// as it was: it cannot go live unnoticed with the next release.
func TestSetConfig_FailedReleaseLeavesTheConfigAsItWas(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	var out strings.Builder
	if _, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"GREETING": "hi", "OTHER": "o"}, nil, false, &out); err != nil {
		t.Fatalf("config:set: %v\n%s", err, out.String())
	}
	out.Reset()
	_, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"GREETING": "crash", "NEW": "n"}, []string{"OTHER"}, false, &out)
	if err == nil {
		t.Fatalf("a config that crashes the app went live:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Config of app left as it was: v3 did not go live") {
		t.Errorf("the output does not say the config was left as it was:\n%s", out.String())
	}
	cfg, _ := f.svc.Config(t.Context(), "app")
	if cfg["GREETING"] != "hi" || cfg["OTHER"] != "o" || cfg["NEW"] != "" {
		t.Errorf("config after the failed release = %v, want GREETING=hi OTHER=o and no NEW", cfg)
	}
	if rec, _ := f.db.AppSetting(t.Context(), "app", slipway.SettingConfigChange); rec != "" {
		t.Errorf("the change's record is left: %s", rec)
	}
	f.push(appFiles(t), "v4")
	if got := f.get(http.DefaultClient); got != "200 release v4 web.1 hi" {
		t.Errorf("the next push serves %q, want the config as it was", got)
	}
}

// After a crash between storing a config change and its release going
// live, the start undoes the change, unless the live release carries it.
func TestRestoreChange_UndoesAChangeThatDidNotGoLive(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	ctx := t.Context()
	if _, err := f.db.SetAppConfig(ctx, "app", map[string]string{"GREETING": "hi"}, nil); err != nil {
		t.Fatal(err)
	}
	current, _ := f.db.AppConfig(ctx, "app")
	cut := newConfigChange(current, map[string]string{"GREETING": "new"}, nil)
	if err := f.svc.recordChange(ctx, "app", cut); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetAppConfig(ctx, "app", map[string]string{"GREETING": "new"}, nil); err != nil {
		t.Fatal(err)
	}
	live, _ := f.db.FindRelease(ctx, "app", 1) // its config has no GREETING=new
	f.svc.restoreChange(ctx, "app", live)
	if cfg, _ := f.db.AppConfig(ctx, "app"); cfg["GREETING"] != "hi" {
		t.Errorf("after the start the config is %v, want GREETING=hi back", cfg)
	}

	// A change the live release carries went live just before the crash:
	// it stays.
	live.Config = map[string]string{"GREETING": "new"}
	if err := f.svc.recordChange(ctx, "app", cut); err != nil {
		t.Fatal(err)
	}
	f.db.SetAppConfig(ctx, "app", map[string]string{"GREETING": "new"}, nil)
	f.svc.restoreChange(ctx, "app", live)
	if cfg, _ := f.db.AppConfig(ctx, "app"); cfg["GREETING"] != "new" {
		t.Errorf("a change the live release carries was undone: %v", cfg)
	}
	if rec, _ := f.db.AppSetting(ctx, "app", slipway.SettingConfigChange); rec != "" {
		t.Errorf("the change's record is left: %s", rec)
	}
}

// cancelOn is output that cancels a context once it sees a line with
// text: the client went away at that point.
type cancelOn struct {
	strings.Builder
	text   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.text) {
		c.cancel()
	}
	return c.Builder.Write(p)
}

// A rollback changes the config with its release or not at all: one cut
// off before its switch leaves the config as it was.
func TestRollback_CutOffLeavesTheConfigAsItWas(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	if _, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"GREETING": "hi"}, nil, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	f.push(appFiles(t), "v3") // v1's pool is no longer warm
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &cancelOn{text: "Rolling back", cancel: cancel}
	if _, err := f.svc.Rollback(ctx, "app", 1, out); err == nil {
		t.Fatalf("a rollback whose client went away went live:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Config of app left as it was") {
		t.Errorf("the output does not say the config was left as it was:\n%s", out.String())
	}
	if cfg, _ := f.svc.Config(t.Context(), "app"); cfg["GREETING"] != "hi" {
		t.Errorf("config after the cut-off rollback = %v, want GREETING=hi", cfg)
	}
	if rec, _ := f.db.AppSetting(t.Context(), "app", slipway.SettingConfigChange); rec != "" {
		t.Errorf("the change's record is left: %s", rec)
	}
}
