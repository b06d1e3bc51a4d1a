package metrics

import (
	"strings"
	"testing"
)

func TestMetrics_AccessLogDrops(t *testing.T) {
	m := New(fakeSource{})
	n := uint64(3)
	m.WatchAccessLogDrops(func() uint64 { return n })
	if body := scrape(t, m); !strings.Contains(body, "slipway_access_log_dropped_total 3\n") {
		t.Errorf("metrics lack the drops:\n%s", body)
	}
	n = 7
	if body := scrape(t, m); !strings.Contains(body, "slipway_access_log_dropped_total 7\n") {
		t.Error("the drops are not read at each scrape")
	}
}

func TestMetrics_WebhookDrops(t *testing.T) {
	m := New(fakeSource{})
	n := uint64(2)
	m.WatchWebhookDrops(func() uint64 { return n })
	if body := scrape(t, m); !strings.Contains(body, "slipway_webhook_dropped_total 2\n") {
		t.Errorf("metrics lack the webhook drops:\n%s", body)
	}
}
