package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway/slipway"
)

// WatchLogDrains reports the log drains that list returns at each scrape,
// by app and drain id (never the URL, which may hold a token): the lines
// each delivered, dropped with its buffer full, and waiting in it. The
// counts start over when slipway starts and when a drain is added.
func (m *Metrics) WatchLogDrains(list func() []slipway.LogDrain) {
	m.reg.MustRegister(&drainCollector{list: list})
}

type drainCollector struct {
	list func() []slipway.LogDrain
}

var (
	drainLabels      = []string{"app", "drain"}
	drainSentDesc    = prometheus.NewDesc("slipway_log_drain_sent_total", "Log lines delivered to the drain, by app and drain id.", drainLabels, nil)
	drainDroppedDesc = prometheus.NewDesc("slipway_log_drain_dropped_total",
		"Log lines dropped for the drain, its buffer full while it was slow or down, by app and drain id.", drainLabels, nil)
	drainQueuedDesc = prometheus.NewDesc("slipway_log_drain_queued", "Log lines waiting in the drain's buffer, by app and drain id.", drainLabels, nil)
	drainUpDesc     = prometheus.NewDesc("slipway_log_drain_up", "1 while the drain's last delivery worked, 0 while it fails or has not delivered yet.", drainLabels, nil)
)

func (c *drainCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- drainSentDesc
	ch <- drainDroppedDesc
	ch <- drainQueuedDesc
	ch <- drainUpDesc
}

func (c *drainCollector) Collect(ch chan<- prometheus.Metric) {
	for _, d := range c.list() {
		up := 0.0
		if d.State == slipway.DrainConnected {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(drainSentDesc, prometheus.CounterValue, float64(d.Sent), d.App, d.ID)
		ch <- prometheus.MustNewConstMetric(drainDroppedDesc, prometheus.CounterValue, float64(d.Dropped), d.App, d.ID)
		ch <- prometheus.MustNewConstMetric(drainQueuedDesc, prometheus.GaugeValue, float64(d.Queued), d.App, d.ID)
		ch <- prometheus.MustNewConstMetric(drainUpDesc, prometheus.GaugeValue, up, d.App, d.ID)
	}
}
