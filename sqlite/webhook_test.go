package sqlite

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestDB_Webhooks(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	mustCreate(t, db, "shop")
	mustCreate(t, db, "blog")
	a := &slipway.Webhook{App: "shop", URL: "https://a.example/hook", Events: []string{"deploy", "crash"}, Secret: "sa"}
	b := &slipway.Webhook{App: "shop", URL: "https://b.example/hook", Events: slipway.WebhookEvents, Secret: "sb"}
	for _, h := range []*slipway.Webhook{a, b, {App: "blog", URL: a.URL, Events: []string{"config"}, Secret: "sc"}} {
		if err := db.AddWebhook(ctx, h); err != nil {
			t.Fatal(err)
		}
		if h.ID == 0 || h.Created.IsZero() {
			t.Errorf("AddWebhook left %+v without an ID or Created", h)
		}
	}
	if err := db.AddWebhook(ctx, &slipway.Webhook{App: "shop", URL: a.URL, Events: []string{"deploy"}, Secret: "x"}); slipway.ErrorCode(err) != slipway.ECONFLICT ||
		!strings.Contains(err.Error(), "has a webhook to https://a.example/… already") {
		t.Errorf("a second webhook to the same URL: %v, want ECONFLICT", err)
	}
	if err := db.AddWebhook(ctx, &slipway.Webhook{App: "nope", URL: a.URL, Events: []string{"deploy"}, Secret: "x"}); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("a webhook of an unknown app: %v, want ENOTFOUND", err)
	}
	got, err := db.ListWebhooks(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].URL != a.URL || got[0].Secret != "sa" || strings.Join(got[0].Events, ",") != "deploy,crash" ||
		got[1].URL != b.URL || !slices.Equal(got[1].Events, slipway.WebhookEvents) || got[0].App != "shop" || !got[0].Created.Equal(a.Created) {
		t.Errorf("ListWebhooks(shop) = %+v", got)
	}
	if _, err := db.ListWebhooks(ctx, "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("webhooks of an unknown app: %v", err)
	}

	// Deliveries: newest first, the newest MaxWebhookDeliveries kept, per webhook.
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range slipway.MaxWebhookDeliveries + 5 {
		d := slipway.WebhookDelivery{ID: fmt.Sprintf("d%d", i), At: at.Add(time.Duration(i) * time.Minute), Event: "deploy",
			Release: fmt.Sprintf("v%d", i), StatusCode: 200, Attempts: 1, Duration: 35 * time.Millisecond}
		if err := db.AddWebhookDelivery(ctx, a.ID, d); err != nil {
			t.Fatal(err)
		}
	}
	failed := slipway.WebhookDelivery{ID: "f", At: at, Event: "crash", Error: "connection refused", Attempts: 5, Duration: 15 * time.Second}
	if err := db.AddWebhookDelivery(ctx, b.ID, failed); err != nil {
		t.Fatal(err)
	}
	got, _ = db.ListWebhooks(ctx, "shop")
	ds := got[0].Deliveries
	if len(ds) != slipway.MaxWebhookDeliveries || ds[0].ID != "d24" || ds[len(ds)-1].ID != "d5" {
		t.Errorf("a's deliveries: %d, first %+v; want the newest %d, newest first", len(ds), ds[0], slipway.MaxWebhookDeliveries)
	}
	if d := ds[0]; d.Release != "v24" || d.StatusCode != 200 || !d.OK() || d.Attempts != 1 || d.Duration != 35*time.Millisecond || !d.At.Equal(at.Add(24*time.Minute)) {
		t.Errorf("a's newest delivery = %+v", d)
	}
	if len(got[1].Deliveries) != 1 || got[1].Deliveries[0] != failed || failed.OK() {
		t.Errorf("b's deliveries = %+v, want %+v", got[1].Deliveries, failed)
	}
	if n := count(t, db, "webhook_deliveries"); n != slipway.MaxWebhookDeliveries+1 {
		t.Errorf("%d deliveries kept, want %d", n, slipway.MaxWebhookDeliveries+1)
	}

	if err := db.RemoveWebhook(ctx, "shop", a.URL); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveWebhook(ctx, "shop", a.URL); slipway.ErrorCode(err) != slipway.ENOTFOUND || !strings.Contains(err.Error(), "webhooks shop lists them") {
		t.Errorf("removing it again: %v, want ENOTFOUND", err)
	}
	if err := db.AddWebhookDelivery(ctx, a.ID, failed); err != nil {
		t.Errorf("a delivery of a removed webhook: %v, want none recorded and no error", err)
	}
	if n := count(t, db, "webhook_deliveries"); n != 1 {
		t.Errorf("%d deliveries left, want b's one: a's go with it", n)
	}
	if got, _ := db.ListWebhooks(ctx, "blog"); len(got) != 1 || got[0].URL != a.URL {
		t.Errorf("blog's webhooks = %+v: removing shop's reached them", got)
	}

	// They go with their app, and follow it when renamed.
	if err := db.RenameApp(ctx, "shop", "store", func(*slipway.Release) slipway.ReleaseUpdate { return slipway.ReleaseUpdate{} }); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ListWebhooks(ctx, "store"); len(got) != 1 || got[0].URL != b.URL {
		t.Errorf("after a rename: %+v", got)
	}
	if err := db.DeleteApp(ctx, "store"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "webhooks"); n != 1 {
		t.Errorf("%d webhooks left after the app went, want blog's", n)
	}
	if n := count(t, db, "webhook_deliveries"); n != 0 {
		t.Errorf("%d deliveries left after the app went", n)
	}
}
