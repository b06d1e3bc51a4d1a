package apps

import (
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// accessRecorder is a router that records what it is told of access
// lines.
type accessRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (a *accessRecorder) SetAccessLog(app string, on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, app+" "+map[bool]string{true: "on", false: "off"}[on])
}

func (a *accessRecorder) said() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.calls, ", ")
}

// logs:access NAME off is stored, told to the router and recorded; a
// start tells the router again, a rename moves it to the new name, a
// destroy leaves the name with the default.
func TestSetAccessLog_KeptToldAndRestored(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	rec := &accessRecorder{}
	f.svc.cfg.AccessLogs = rec
	ctx := t.Context()
	if err := f.svc.Create(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := f.svc.SetAccessLog(ctx, "shop", false, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "logs:access shop on") {
		t.Errorf("off says %q, want how to turn it on again", out.String())
	}
	if got, want := rec.said(), "shop off"; got != want {
		t.Errorf("the router heard %q, want %q", got, want)
	}
	if v, _ := f.db.AppSetting(ctx, "shop", slipway.SettingAccessLog); v != "off" {
		t.Errorf("setting %q, want off", v)
	}
	events, err := f.db.ListEvents(ctx, "shop", 5)
	if err != nil || len(events) == 0 || events[0].Kind != slipway.EventAccessLog || events[0].Detail != "off" {
		t.Errorf("events %+v (%v), want an access-log off first", events, err)
	}
	if err := f.svc.SetAccessLog(ctx, "nosuch", false, io.Discard); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("an unknown app: %v, want ENOTFOUND", err)
	}

	// A restart tells the new router.
	f.stop()
	cfg := f.svc.cfg
	restored := &accessRecorder{}
	cfg.AccessLogs = restored
	f.svc = New(cfg)
	f.svc.Start(ctx)
	if got, want := restored.said(), "shop off"; got != want {
		t.Errorf("after a restart the router heard %q, want %q", got, want)
	}

	restored.calls = nil
	if err := f.svc.Rename(ctx, "shop", "store", io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := restored.said(), "shop on, store off"; got != want {
		t.Errorf("a rename told the router %q, want %q", got, want)
	}
	restored.calls = nil
	if err := f.svc.Destroy(ctx, "store", io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := restored.said(), "store on"; got != want {
		t.Errorf("a destroy told the router %q, want %q", got, want)
	}
}
