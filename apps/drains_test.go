package apps

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// fakeDrains is the delivery as the use cases see it: the drains each
// app was last given.
type fakeDrains struct {
	key  []byte // keys the ids, as the Service's DrainIDKey
	mu   sync.Mutex
	apps map[string][]string
}

// testDrainIDKey keys the drains' ids in the tests.
var testDrainIDKey = slipway.LogDrainIDKey([]byte("the tests' installation secret.."))

// withFakeDrains gives the fixture's Service a fakeDrains, both with the
// tests' key.
func (f *fixture) withFakeDrains() *fakeDrains {
	fake := &fakeDrains{key: testDrainIDKey}
	f.svc.cfg.Drains, f.svc.cfg.DrainIDKey = fake, testDrainIDKey
	return fake
}

func (f *fakeDrains) Set(app string, urls []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps == nil {
		f.apps = map[string][]string{}
	}
	if len(urls) == 0 {
		delete(f.apps, app)
		return
	}
	f.apps[app] = slices.Clone(urls)
}

func (f *fakeDrains) Status(app string) []slipway.LogDrain {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []slipway.LogDrain
	for _, raw := range f.apps[app] {
		out = append(out, slipway.LogDrain{App: app, ID: slipway.LogDrainID(f.key, raw), URL: slipway.MaskLogDrainURL(raw), State: slipway.DrainConnected, Sent: 7})
	}
	return out
}

func (f *fakeDrains) get() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.apps)
}

// drains:add stores the drain and gives it to the delivery, drains lists
// it as the delivery sees it, drains:remove takes it away by id or URL;
// each lands in the activity without the URL's secrets.
func TestLogDrains_AddListRemove(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	fake := f.withFakeDrains()
	ctx := t.Context()
	if err := f.svc.Create(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	secret := "https://user:hunter2@logs.example.com/drain?token=SECRET"
	var out strings.Builder
	for _, u := range []string{"syslog+tls://logs.example.com:6514", secret} {
		if err := f.svc.AddLogDrain(ctx, "shop", u, &out); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.AddLogDrain(ctx, "shop", "syslog+tls://logs.example.com:6514", &out); slipway.ErrorCode(err) != slipway.ECONFLICT {
		t.Errorf("adding it twice: %v, want ECONFLICT", err)
	}
	if err := f.svc.AddLogDrain(ctx, "shop", "http://logs.example.com/", &out); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Errorf("http://: %v, want EINVALID", err)
	}
	if err := f.svc.AddLogDrain(ctx, "nope", "syslog://logs.example.com", &out); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("unknown app: %v, want ENOTFOUND", err)
	}
	if got := fake.get()["shop"]; len(got) != 2 || got[1] != secret {
		t.Errorf("the delivery has %q", got)
	}
	list, err := f.svc.LogDrains(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].URL != "syslog+tls://logs.example.com:6514" || list[1].URL != "https://***@logs.example.com/***?***" ||
		list[1].ID != slipway.LogDrainID(testDrainIDKey, secret) || list[1].Sent != 7 {
		t.Errorf("drains = %+v", list)
	}

	if err := f.svc.RemoveLogDrain(ctx, "shop", list[1].ID, &out); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemoveLogDrain(ctx, "shop", "syslog+tls://logs.example.com:6514", &out); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemoveLogDrain(ctx, "shop", "deadbeef", &out); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("removing an unknown drain: %v, want ENOTFOUND", err)
	}
	if got := fake.get(); len(got) != 0 {
		t.Errorf("the delivery still has %q", got)
	}
	if v, _ := f.db.AppSetting(ctx, "shop", slipway.SettingDrains); v != "" {
		t.Errorf("stored drains after removing all: %q", v)
	}
	events, _ := f.db.ListEvents(ctx, "shop", 10)
	var drainEvents []string
	for _, e := range events {
		if e.Kind == slipway.EventDrains {
			drainEvents = append(drainEvents, e.Detail)
		}
	}
	if len(drainEvents) != 4 || !strings.Contains(strings.Join(drainEvents, "|"), "added https://***@logs.example.com/***?***") {
		t.Errorf("drain events = %q", drainEvents)
	}
	for _, s := range append(drainEvents, out.String()) {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "SECRET") {
			t.Errorf("a secret shown: %q", s)
		}
	}
}

// drains:remove still takes the id a drain had before ids were keyed (the
// URL's plain SHA-256), so that a script written then goes on working;
// drains shows the keyed one only.
func TestLogDrains_RemoveTakesTheIDFromBeforeKeys(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.withFakeDrains()
	ctx := t.Context()
	if err := f.svc.Create(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	const u = "https://user:hunter2@logs.example.com/drain"
	var out strings.Builder
	if err := f.svc.AddLogDrain(ctx, "shop", u, &out); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(u))
	old := hex.EncodeToString(sum[:4])
	list, _ := f.svc.LogDrains(ctx, "shop")
	if len(list) != 1 || list[0].ID == old || list[0].ID != slipway.LogDrainID(testDrainIDKey, u) || strings.Contains(out.String(), old) {
		t.Errorf("drains = %+v, output %q: want the keyed id only", list, out.String())
	}
	if err := f.svc.RemoveLogDrain(ctx, "shop", old, &out); err != nil {
		t.Fatalf("drains:remove by the old id: %v", err)
	}
	if list, _ := f.svc.LogDrains(ctx, "shop"); len(list) != 0 {
		t.Errorf("drains after the removal: %+v", list)
	}
}

// The drains are given to the delivery again at start, follow a rename
// and go with the app.
func TestLogDrains_RestoredRenamedAndDestroyed(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	fake := &fakeDrains{}
	f.svc.cfg.Drains = fake
	ctx := t.Context()
	if err := f.svc.Create(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := f.svc.AddLogDrain(ctx, "shop", "syslog://logs.example.com:5140", &out); err != nil {
		t.Fatal(err)
	}
	restarted := &fakeDrains{}
	f.svc.cfg.Drains = restarted
	f.svc.restoreDrains(ctx)
	if got := restarted.get()["shop"]; len(got) != 1 || got[0] != "syslog://logs.example.com:5140" {
		t.Errorf("restored: %q", got)
	}
	if err := f.svc.Rename(ctx, "shop", "store", &out); err != nil {
		t.Fatal(err)
	}
	if got := restarted.get(); len(got) != 1 || len(got["store"]) != 1 {
		t.Errorf("after the rename the delivery has %q", got)
	}
	if err := f.svc.Destroy(ctx, "store", &out); err != nil {
		t.Fatal(err)
	}
	if got := restarted.get(); len(got) != 0 {
		t.Errorf("after the destroy the delivery has %q", got)
	}
}
