package metrics

import "github.com/prometheus/client_golang/prometheus"

// WatchAccessLogDrops reports what dropped returns at each scrape, as
// slipway_access_log_dropped_total: the router's access lines dropped
// because its queue to the apps' logs was full.
func (m *Metrics) WatchAccessLogDrops(dropped func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "slipway_access_log_dropped_total",
		Help: "The router's access lines dropped, not written to the apps' logs, because the queue to them was full (a slow disk or a flood).",
	}, func() float64 { return float64(dropped()) }))
}

// WatchWebhookDrops reports what dropped returns at each scrape, as
// slipway_webhook_dropped_total: the webhook events dropped, never
// delivered, because the queue to the senders was full.
func (m *Metrics) WatchWebhookDrops(dropped func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "slipway_webhook_dropped_total",
		Help: "Webhook events dropped, never sent, because the queue to the senders was full (receivers slow or down during a burst of events).",
	}, func() float64 { return float64(dropped()) }))
}
