package apps

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// heard is a Webhooks that keeps what it is told.
type heard struct {
	mu     sync.Mutex
	events []slipway.WebhookEvent
}

func (h *heard) Notify(_ context.Context, ev slipway.WebhookEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

// summary is each event as "event status release", in order.
func (h *heard) summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var parts []string
	for _, ev := range h.events {
		parts = append(parts, ev.Event+" "+ev.Status+" "+ev.Release)
	}
	return strings.Join(parts, " | ")
}

func (h *heard) last() slipway.WebhookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[len(h.events)-1]
}

// withWebhooks restarts f's Service with webhooks.
func withWebhooks(f *fixture, rc releaser.Config) *heard {
	h := &heard{}
	f.stop()
	f.webhooks = h
	f.svc = f.start(rc)
	return h
}

func TestWebhooks_AddListRemove(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	withWebhooks(f, releaser.Config{})
	ctx := slipway.WithCallerName(t.Context(), "admin")
	if err := f.svc.Create(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	h, err := f.svc.AddWebhook(ctx, "app", "https://hooks.example.com/services/T0K3N", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h.Secret) || strings.Join(h.Events, ",") != "deploy,rollback,crash,config" {
		t.Errorf("added %+v: want a secret of 32 random bytes in hex and every event", h)
	}
	given := "a-secret-of-my-own-0123"
	if h, err := f.svc.AddWebhook(ctx, "app", "http://10.0.0.5:8080/hook", []string{"crash", "deploy"}, given); err != nil || h.Secret != given || strings.Join(h.Events, ",") != "deploy,crash" {
		t.Errorf("add with a secret and events: %+v, %v", h, err)
	}
	for _, tc := range []struct{ url, events, secret, want string }{
		{"https://hooks.example.com/services/T0K3N", "", "", "has a webhook to"},
		{"ftp://x.example/", "", "", "not an http or https URL"},
		{"https://x.example/", "deploys", "", `unknown webhook event "deploys"`},
		{"https://x.example/", "", "short", "the secret must be 16 to 256 printable ASCII characters"},
		{"https://x.example/", "", "has spaces in it, sixteen+", "the secret must be"},
	} {
		var events []string
		if tc.events != "" {
			events = []string{tc.events}
		}
		_, err := f.svc.AddWebhook(ctx, "app", tc.url, events, tc.secret)
		if err == nil || !strings.Contains(slipway.ErrorMessage(err), tc.want) || (tc.secret != "" && strings.Contains(err.Error(), tc.secret)) {
			t.Errorf("AddWebhook(%q, %q, %q) = %v, want %q (and the secret not repeated)", tc.url, tc.events, tc.secret, err, tc.want)
		}
	}
	if _, err := f.svc.AddWebhook(ctx, "nope", "https://x.example/", nil, ""); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("a webhook of an unknown app: %v", err)
	}
	list, err := f.svc.Webhooks(ctx, "app")
	if err != nil || len(list) != 2 || list[0].Secret != "" || list[1].Secret != "" || list[0].URL != "https://hooks.example.com/services/T0K3N" {
		t.Errorf("Webhooks = %+v, %v: want both, secrets left out", list, err)
	}
	if err := f.svc.RemoveWebhook(ctx, "app", "HTTPS://hooks.example.com/services/T0K3N"); err != nil {
		t.Errorf("remove, the scheme written otherwise: %v", err)
	}
	if err := f.svc.RemoveWebhook(ctx, "app", "https://hooks.example.com/services/T0K3N"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("remove again: %v, want ENOTFOUND", err)
	}
	events, _ := f.db.ListEvents(ctx, "app", 10)
	var activity []string
	for _, e := range events {
		if e.Kind == slipway.EventWebhooks {
			activity = append(activity, e.By+": "+e.Detail)
		}
	}
	if got, want := strings.Join(activity, " | "), "admin: removed https://hooks.example.com/… | admin: added http://10.0.0.5:8080/… for deploy, crash | admin: added https://hooks.example.com/… for deploy, rollback, crash, config"; got != want {
		t.Errorf("activity = %q\nwant       %q", got, want)
	}

	// An app has MaxWebhooks at most (one is left from above).
	for i := 1; i < slipway.MaxWebhooks; i++ {
		if _, err := f.svc.AddWebhook(ctx, "app", fmt.Sprintf("https://hooks.example.com/%d", i), nil, ""); err != nil {
			t.Fatalf("webhook %d: %v", i+1, err)
		}
	}
	if _, err := f.svc.AddWebhook(ctx, "app", "https://hooks.example.com/more", nil, ""); slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), "the most an app may have") {
		t.Errorf("one webhook more than MaxWebhooks: %v", err)
	}

	f.stop()
	f.webhooks = nil
	f.svc = f.start(releaser.Config{})
	if _, err := f.svc.AddWebhook(ctx, "app", "https://x.example/", nil, ""); err == nil || !strings.Contains(err.Error(), "delivers no webhooks") {
		t.Errorf("add without a notifier: %v", err)
	}
}

// Each use case tells the webhooks how it ended: a push live or failed,
// a config release, config stored for later, a rollback, a crash.
func TestWebhooks_HearOfEveryUseCase(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	h := withWebhooks(f, releaser.Config{})
	ctx := slipway.WithCallerName(t.Context(), "admin")
	f.push(appFiles(t), "first version")
	ev := h.last()
	sha := f.gitIn(f.work, "rev-parse", "HEAD")
	if ev.Event != "deploy" || ev.Status != "succeeded" || ev.App != "app" || ev.Release != "v1" || ev.Commit != sha ||
		ev.Description != "first version" || ev.By != "tester (SHA256:test)" || ev.URL != "http://app.test/" || ev.At.IsZero() || ev.Error != "" {
		t.Errorf("deploy event = %+v", ev)
	}
	if _, err := f.deploy(f.commit(crashFiles, "broken")); err == nil {
		t.Fatal("the crashing release went live")
	}
	if ev := h.last(); ev.Event != "deploy" || ev.Status != "failed" || ev.Release != "v2" || !strings.Contains(ev.Error, "exited with status 3") {
		t.Errorf("failed deploy event = %+v", ev)
	}
	if _, err := f.svc.SetConfig(ctx, "app", map[string]string{"GREETING": "hello"}, nil, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if ev := h.last(); ev.Event != "config" || ev.Status != "succeeded" || ev.Release != "v3" || ev.Description != "Set GREETING" || ev.By != "admin" {
		t.Errorf("config event = %+v", ev)
	}
	victim := f.processes()[0]
	syscall.Kill(-victim.PID, syscall.SIGKILL)
	waitFor(t, "the crash to be heard", func() bool { return h.last().Event == "crash" })
	if ev := h.last(); ev.Status != "crashed" || ev.Release != "v3" || ev.Process != victim.ID || ev.Exit != "was stopped by a signal (killed)" || ev.By != "" {
		t.Errorf("crash event = %+v", ev)
	}
	if _, err := f.svc.SetConfig(ctx, "app", map[string]string{"LATER": "x"}, nil, true, io.Discard); err != nil {
		t.Fatal(err)
	}
	if ev := h.last(); ev.Event != "config" || ev.Status != "pending" || ev.Release != "" || ev.Description != "Set LATER" {
		t.Errorf("config --no-restart event = %+v", ev)
	}
	if _, err := f.svc.Rollback(ctx, "app", 1, io.Discard); err != nil {
		t.Fatal(err)
	}
	if ev := h.last(); ev.Event != "rollback" || ev.Status != "succeeded" || ev.Release != "v4" || ev.RollbackOf != "v1" || ev.Commit != sha || ev.By != "admin" {
		t.Errorf("rollback event = %+v", ev)
	}
	if got, want := h.summary(), "deploy succeeded v1 | deploy failed v2 | config succeeded v3 | crash crashed v3 | config pending  | rollback succeeded v4"; got != want {
		t.Errorf("events = %q\nwant     %q", got, want)
	}
	for _, e := range h.events {
		if strings.Contains(fmt.Sprintf("%+v", e), "hello") {
			t.Errorf("an event holds a config value: %+v", e)
		}
	}

}

// A crash loop is told at its first exit (once a minute) and then at
// the 4th, 8th, 16th… in a row.
func TestWebhooks_CrashLoopIsThinnedOut(t *testing.T) {
	s := &Service{cfg: Config{Webhooks: &heard{}, HTTPAddr: func() string { return ":80" }}}
	for _, loop := range []int{0, 0, 0, 4, 5, 6, 7, 8, 9, 15, 16, 17} {
		s.instanceCrashed("app", 2, "web.1", "exited with status 1", loop)
	}
	var loops []int
	for _, ev := range s.cfg.Webhooks.(*heard).events {
		loops = append(loops, ev.CrashLoop)
	}
	if got, want := fmt.Sprint(loops), "[0 4 8 16]"; got != want {
		t.Errorf("crash loops told: %s, want %s", got, want)
	}
}

// Crashes that are no loop (each after a stable run) are told at most
// once a minute per app.
func TestWebhooks_CrashesToldOnceAMinute(t *testing.T) {
	s := &Service{}
	start := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		app   string
		after time.Duration
		want  bool
	}{
		{"a", 0, true}, {"b", 0, true}, {"a", 30 * time.Second, false}, {"a", 59 * time.Second, false},
		{"a", 60 * time.Second, true}, {"b", 61 * time.Second, true}, {"a", 90 * time.Second, false},
	} {
		if got := s.crashTold(c.app, start.Add(c.after)); got != c.want {
			t.Errorf("a crash of %s at +%s told: %v, want %v", c.app, c.after, got, c.want)
		}
	}
}
