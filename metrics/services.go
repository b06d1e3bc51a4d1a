package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway/slipway"
)

// WatchServices reports the backing services that list returns at each
// scrape, by service and kind: whether each is up, the size of its data
// and its last backup. A service never backed up has no backup series:
// `slipway_service_up unless on (service, kind)
// slipway_service_last_backup_timestamp_seconds` finds those.
func (m *Metrics) WatchServices(list func() []slipway.ServiceStatus) {
	m.reg.MustRegister(&serviceCollector{list: list, now: time.Now})
}

type serviceCollector struct {
	list func() []slipway.ServiceStatus
	now  func() time.Time
}

var (
	serviceLabels   = []string{"service", "kind"}
	serviceUpDesc   = prometheus.NewDesc("slipway_service_up", "1 when the backing service's server is up, 0 when it is starting, crashed or stopped.", serviceLabels, nil)
	serviceSizeDesc = prometheus.NewDesc("slipway_service_size_bytes", "Disk space the backing service's data dir takes.", serviceLabels, nil)
	backupTimeDesc  = prometheus.NewDesc("slipway_service_last_backup_timestamp_seconds",
		"When the backing service's newest backup was taken (Unix time); absent for a service never backed up.", serviceLabels, nil)
	backupAgeDesc = prometheus.NewDesc("slipway_service_last_backup_age_seconds",
		"How long ago the backing service's newest backup was taken; absent for a service never backed up.", serviceLabels, nil)
)

func (c *serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- serviceUpDesc
	ch <- serviceSizeDesc
	ch <- backupTimeDesc
	ch <- backupAgeDesc
}

func (c *serviceCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, s := range c.list() {
		up := 0.0
		if s.State == slipway.StateUp {
			up = 1
		}
		kind := string(s.Kind)
		ch <- prometheus.MustNewConstMetric(serviceUpDesc, prometheus.GaugeValue, up, s.Name, kind)
		ch <- prometheus.MustNewConstMetric(serviceSizeDesc, prometheus.GaugeValue, float64(s.Size), s.Name, kind)
		if b := s.LastBackup; b != nil && !b.Taken.IsZero() {
			ch <- prometheus.MustNewConstMetric(backupTimeDesc, prometheus.GaugeValue, float64(b.Taken.Unix()), s.Name, kind)
			ch <- prometheus.MustNewConstMetric(backupAgeDesc, prometheus.GaugeValue, max(now.Sub(b.Taken).Seconds(), 0), s.Name, kind)
		}
	}
}
