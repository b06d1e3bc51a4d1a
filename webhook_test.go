package slipway

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseWebhookURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.example.com/slipway":    "https://hooks.example.com/slipway",
		"http://10.0.0.5:8080/deploys?team=a":  "http://10.0.0.5:8080/deploys?team=a",
		"https://[::1]:8443/x":                 "https://[::1]:8443/x",
		"HTTPS://Hooks.Example.com/A%20B":      "https://Hooks.Example.com/A%20B",
		"http://localhost/internal/notify-me/": "http://localhost/internal/notify-me/",
	} {
		got, err := ParseWebhookURL(in)
		if err != nil || got != want {
			t.Errorf("ParseWebhookURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"":                                      "not a URL",
		"hooks.example.com/x":                   "not a URL",
		"ftp://hooks.example.com/x":             "not an http or https URL",
		"file:///etc/passwd":                    "not a URL",
		"javascript:alert(1)":                   "not a URL",
		"https://user:pw@hooks.example.com/x":   "user or password",
		"https://token@hooks.example.com/x":     "user or password",
		"https://hooks.example.com/x#frag":      "fragment",
		"https://hooks.example.com/a b":         "spaces or control characters",
		"https://hooks.example.com/\r\nX-A: b":  "spaces or control characters",
		"https://hooks.example.com:99999999999": "no valid port",
		"https://hooks.example.com:0/":          "no valid port",
		"https://hooks.example.com/" + strings.Repeat("a", MaxWebhookURLLen): "longer than",
	} {
		_, err := ParseWebhookURL(in)
		if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), why) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseWebhookURL(%q) = %v; want a one-line error saying %q", in, err, why)
		}
		if err != nil && strings.Contains(in, "pw@") && strings.Contains(err.Error(), "pw") {
			t.Errorf("ParseWebhookURL(%q) = %v: the error repeats the password", in, err)
		}
	}
}

func TestParseWebhookEvents(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "deploy,rollback,crash,config",
		"config,deploy":                "deploy,config",
		" crash , crash":               "crash",
		"rollback":                     "rollback",
		"deploy,rollback,crash,config": "deploy,rollback,crash,config",
	} {
		got, err := ParseWebhookEvents(in)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("ParseWebhookEvents(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"deploys", "deploy,", "push", "Deploy"} {
		if _, err := ParseWebhookEvents(in); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "use deploy, rollback, crash, config") {
			t.Errorf("ParseWebhookEvents(%q) = %v; want an error naming the kinds", in, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0/B0/secret": "https://hooks.slack.com/…",
		"https://example.com/?token=abc":                "https://example.com/…",
		"http://10.0.0.5:8080":                          "http://10.0.0.5:8080",
		"http://10.0.0.5:8080/":                         "http://10.0.0.5:8080",
		"not a url":                                     "(a URL)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// The secret never leaves in JSON, and the payload has the fields the
// docs promise.
func TestWebhook_JSON(t *testing.T) {
	b, err := json.Marshal(Webhook{ID: 1, App: "shop", URL: "https://x.example/", Events: WebhookEvents, Secret: "s3cret"})
	if err != nil || strings.Contains(string(b), "s3cret") {
		t.Errorf("Webhook JSON = %s, %v: want it without the secret", b, err)
	}
	ev := WebhookEvent{Event: WebhookDeploy, Status: WebhookSucceeded, App: "shop", Release: "v4", Commit: "abc",
		By: "alice", At: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	b, _ = json.Marshal(ev)
	if want := `{"event":"deploy","status":"succeeded","app":"shop","release":"v4","commit":"abc","by":"alice","at":"2026-03-01T12:00:00Z"}`; string(b) != want {
		t.Errorf("payload = %s\nwant      %s", b, want)
	}
}
