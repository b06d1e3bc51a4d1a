package commands

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// hooksFake is an Apps with webhooks, recording what it is asked.
type hooksFake struct {
	unexpected
	calls []string
	hooks []slipway.Webhook
}

func (f *hooksFake) AddWebhook(_ context.Context, app, url string, events []string, secret string) (*slipway.Webhook, error) {
	f.calls = append(f.calls, "add "+app+" "+url+" "+strings.Join(events, ",")+" secret="+secret)
	if secret == "" {
		secret = "generated-0123456789abcdef"
	}
	return &slipway.Webhook{App: app, URL: url, Events: events, Secret: secret}, nil
}

func (f *hooksFake) RemoveWebhook(_ context.Context, app, url string) error {
	f.calls = append(f.calls, "remove "+app+" "+url)
	return nil
}

func (f *hooksFake) Webhooks(_ context.Context, app string) ([]slipway.Webhook, error) {
	f.calls = append(f.calls, "list "+app)
	return f.hooks, nil
}

func TestWebhooks_ParseTheirWords(t *testing.T) {
	checkWords(t, func() (Apps, *[]string) { f := &hooksFake{}; return f, &f.calls }, []wordsCase{
		{"webhooks:add", []string{"shop", "https://h.example/x"}, "add shop https://h.example/x deploy,rollback,crash,config secret="},
		{"webhooks:add", []string{"shop", "https://h.example/x", "--events", "config,deploy"}, "add shop https://h.example/x deploy,config secret="},
		{"webhooks:add", []string{"shop", "--events=crash", "https://h.example/x", "--secret", "s3cret-s3cret-s3cret"}, "add shop https://h.example/x crash secret=s3cret-s3cret-s3cret"},
		{"webhooks:add", []string{"shop", "https://h.example/x", "--events", "push"}, `unknown webhook event "push": use deploy, rollback, crash, config`},
		{"webhooks:add", []string{"shop", "https://h.example/x", "--events"}, "--events needs a value"},
		{"webhooks:add", []string{"shop", "https://h.example/x", "--secret="}, "--secret is empty"},
		{"webhooks:add", []string{"shop", "https://h.example/x", "--bogus"}, `unknown flag "--bogus"`},
		{"webhooks:add", []string{"shop"}, "usage: webhooks:add NAME URL"},
		{"webhooks:add", []string{"Shop", "https://h.example/x"}, "invalid app name"},
		{"webhooks:remove", []string{"shop", "https://h.example/x"}, "remove shop https://h.example/x"},
		{"webhooks:remove", []string{"shop"}, "usage: webhooks:remove NAME URL"},
		{"webhooks", []string{"shop"}, "list shop"},
		{"webhooks", []string{"shop", "more"}, "usage: webhooks NAME"},
	})
}

// The secret slipway makes is shown once, by webhooks:add; one given is
// never echoed, and webhooks NAME never shows one.
func TestWebhooks_ShowTheSecretOnce(t *testing.T) {
	f := &hooksFake{}
	var out strings.Builder
	if err := Run(t.Context(), f, "webhooks:add", []string{"shop", "https://h.example/x"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\ngenerated-0123456789abcdef\n") || !strings.Contains(out.String(), "shown this once") {
		t.Errorf("webhooks:add printed %q, want the secret on a line of its own", out.String())
	}
	out.Reset()
	if err := Run(t.Context(), f, "webhooks:add", []string{"shop", "https://h.example/y", "--secret", "given-given-given-given"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "given-given") {
		t.Errorf("webhooks:add echoed the secret given: %q", out.String())
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.hooks = []slipway.Webhook{
		{URL: "https://h.example/x", Events: []string{"deploy", "config"}, Created: at, Secret: "never-shown", Deliveries: []slipway.WebhookDelivery{
			{ID: "d2", At: at.Add(2 * time.Minute), Event: "config", Release: "v5", StatusCode: 200, Attempts: 3, Duration: 3100 * time.Millisecond},
			{ID: "d1", At: at.Add(time.Minute), Event: "deploy", Release: "v4", Error: "connection refused", Attempts: 5, Duration: 15 * time.Second},
		}},
		{URL: "http://10.0.0.5/hook", Events: []string{"crash"}, Created: at},
	}
	out.Reset()
	if err := Run(t.Context(), f, "webhooks", []string{"shop"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	// The table's columns, whatever their widths.
	squeezed := regexp.MustCompile(`  +`).ReplaceAllString(got, " | ")
	for _, want := range []string{
		"https://h.example/x\n | events: deploy,config\n | secret: ******** (shown once, by webhooks:add)\n | added: | 2026-03-01 12:00:00Z\n",
		" | AT | EVENT | RELEASE | STATUS | ATTEMPTS | TOOK | DELIVERY\n",
		" | 2026-03-01 12:02:00Z | config | v5 | 200 | 3 | 3.1s | d2\n",
		" | 2026-03-01 12:01:00Z | deploy | v4 | error: connection refused | 5 | 15s | d1\n",
		"http://10.0.0.5/hook\n | events: crash\n",
		" | no deliveries yet\n",
	} {
		if !strings.Contains(squeezed, want) {
			t.Errorf("webhooks shop printed\n%s\nwant it to hold (runs of spaces as |)\n%s", got, want)
		}
	}
	if strings.Contains(got, "never-shown") {
		t.Error("webhooks NAME showed a secret")
	}
	f.hooks = nil
	out.Reset()
	Run(t.Context(), f, "webhooks", []string{"shop"}, io.Reader(nil), &out)
	if out.String() != "shop has no webhooks: webhooks:add shop URL adds one\n" {
		t.Errorf("no webhooks: %q", out.String())
	}
}

// A key limited to an app manages that app's webhooks, and no other's.
func TestWebhooks_KeyLimitedToItsApp(t *testing.T) {
	ctx := slipway.WithCaller(t.Context(), slipway.Pusher{Fingerprint: "SHA256:k", Apps: []string{"shop"}})
	f := &hooksFake{}
	if err := Run(ctx, f, "webhooks:add", []string{"shop", "https://h.example/x"}, nil, io.Discard); err != nil {
		t.Errorf("its own app: %v", err)
	}
	for _, args := range [][]string{{"blog", "https://h.example/x"}, {"--events", "crash", "blog", "https://h.example/x"}} {
		if err := Run(ctx, f, "webhooks:add", args, nil, io.Discard); err == nil {
			t.Errorf("webhooks:add %q with a key limited to shop: no error", args)
		}
	}
	if len(f.calls) != 1 {
		t.Errorf("calls = %q, want only shop's", f.calls)
	}
}
