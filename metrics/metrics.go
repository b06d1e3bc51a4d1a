package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AppPools is one app's running state at scrape time.
type AppPools struct {
	App               string
	Live              int // 1 when the app has a live pool
	Draining          int
	LiveInstances     int
	DrainingInstances int
}

// Source reports the apps' pools when Prometheus scrapes.
type Source interface {
	Pools() []AppPools
}

// Metrics holds slipway's metrics and serves them.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	upstream *prometheus.HistogramVec
	deploys  *prometheus.CounterVec
	build    prometheus.Histogram
	restarts *prometheus.CounterVec
	certs    *prometheus.CounterVec
	sleeps   *prometheus.CounterVec
	wakes    *prometheus.CounterVec
	wake     prometheus.Histogram

	perApp sync.Map // app name → *appMetrics, so a request costs no label lookup
}

// appMetrics are one app's request counters by status class and its
// latency histogram, resolved once.
type appMetrics struct {
	codes   [len(codeClasses)]prometheus.Counter
	latency prometheus.Observer
}

// New returns the metrics, reading pools from src at each scrape.
func New(src Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_http_requests_total",
			Help: "Requests the router proxied to an app, by app and status code class (2xx, 5xx, …).",
		}, []string{"app", "code"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slipway_upstream_duration_seconds",
			Help:    "Time from sending a request to an app instance to its response headers, by app.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"app"}),
		deploys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_deploys_total",
			Help: "Deploys by result: ok or failed.",
		}, []string{"result"}),
		build: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "slipway_build_duration_seconds",
			Help:    "Time a push took to build, successful or not.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_instance_restarts_total",
			Help: "Instances restarted after they exited, by app.",
		}, []string{"app"}),
		certs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_certificate_results_total",
			Help: "Certificates obtained from the ACME server, by result (ok or failed) and whether it was a renewal.",
		}, []string{"result", "renewal"}),
	}
	m.sleeps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_pool_sleeps_total",
		Help: "Draining pools put to sleep (their processes stopped until a pinned request wakes them), by app.",
	}, []string{"app"})
	m.wakes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_pool_wakes_total",
		Help: "Sleeping pools woken by a request pinned to them, by app.",
	}, []string{"app"})
	m.wake = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "slipway_pool_wake_duration_seconds",
		Help:    "Time a sleeping pool took to wake: its instances started and healthy.",
		Buckets: []float64{.05, .1, .2, .3, .5, .75, 1, 2, 5, 10, 30, 60},
	})
	m.reg.MustRegister(m.requests, m.upstream, m.deploys, m.build, m.restarts, m.certs, m.sleeps, m.wakes, m.wake,
		&poolCollector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Sleep counts a draining pool of app put to sleep.
func (m *Metrics) Sleep(app string) { m.sleeps.WithLabelValues(app).Inc() }

// Wake counts a sleeping pool of app woken, and how long that took.
func (m *Metrics) Wake(app string, took time.Duration) {
	m.wakes.WithLabelValues(app).Inc()
	m.wake.Observe(took.Seconds())
}

// Certificate records one issuance or renewal and its result.
func (m *Metrics) Certificate(ok, renewal bool) {
	result := "failed"
	if ok {
		result = "ok"
	}
	m.certs.WithLabelValues(result, strconv.FormatBool(renewal)).Inc()
}

// CertExpiry is when one domain's certificate expires.
type CertExpiry struct {
	Domain, Source string // source: auto or manual
	Expires        time.Time
}

// CertSource reports the certificates when Prometheus scrapes.
type CertSource interface {
	Certificates() []CertExpiry
}

// WatchCertificates reports src's certificates' expiry at each scrape.
func (m *Metrics) WatchCertificates(src CertSource) { m.reg.MustRegister(&certCollector{src}) }

type certCollector struct{ src CertSource }

var certExpiryDesc = prometheus.NewDesc("slipway_certificate_expiry_timestamp_seconds",
	"When the certificate of a domain expires (Unix time), by domain and source (auto or manual).", []string{"domain", "source"}, nil)

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certExpiryDesc }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	for _, e := range c.src.Certificates() {
		ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, float64(e.Expires.Unix()), e.Domain, e.Source)
	}
}

// ProxyErrors counts the proxy's own errors by kind: what apps and clients
// did that the router would not pass on.
type ProxyErrors struct {
	UpstreamReset       uint64 // an instance closed or reset a connection before its response ended
	UpstreamMalformed   uint64 // a response that could not be framed with certainty
	UnsolicitedResponse uint64 // bytes no request asked for: the connection was closed, no client got them
	FramingRefused      uint64 // client requests refused with 400 for ambiguous framing
}

// WatchProxyErrors reports what read returns at each scrape, as
// slipway_proxy_errors_total by kind.
func (m *Metrics) WatchProxyErrors(read func() ProxyErrors) {
	m.reg.MustRegister(&proxyErrorCollector{read})
}

type proxyErrorCollector struct{ read func() ProxyErrors }

var proxyErrorsDesc = prometheus.NewDesc("slipway_proxy_errors_total",
	"The router's own errors by kind: upstream_reset (an instance ended a connection before its response did), "+
		"upstream_malformed (a response that could not be framed), unsolicited_response (bytes no request asked for; "+
		"the connection is closed and no client gets them), framing_refused (client requests answered 400 for ambiguous framing).",
	[]string{"kind"}, nil)

func (c *proxyErrorCollector) Describe(ch chan<- *prometheus.Desc) { ch <- proxyErrorsDesc }

func (c *proxyErrorCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.read()
	for _, k := range []struct {
		kind string
		n    uint64
	}{
		{"upstream_reset", e.UpstreamReset},
		{"upstream_malformed", e.UpstreamMalformed},
		{"unsolicited_response", e.UnsolicitedResponse},
		{"framing_refused", e.FramingRefused},
	} {
		ch <- prometheus.MustNewConstMetric(proxyErrorsDesc, prometheus.CounterValue, float64(k.n), k.kind)
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// codeClasses avoids formatting a label for every request.
var codeClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// Upstream records one proxied request: the status an instance answered
// with (502 when none did) and how long its response headers took.
// It runs on the router's request path: after an app's first request it
// is one map load, an atomic add and a histogram observation.
func (m *Metrics) Upstream(app string, code int, d time.Duration) {
	am := m.app(app)
	if i := code/100 - 1; i >= 0 && i < len(codeClasses) {
		am.codes[i].Inc()
	} else {
		m.requests.WithLabelValues(app, strconv.Itoa(code)).Inc()
	}
	if d > 0 {
		am.latency.Observe(d.Seconds())
	}
}

func (m *Metrics) app(name string) *appMetrics {
	if am, ok := m.perApp.Load(name); ok {
		return am.(*appMetrics)
	}
	am := &appMetrics{latency: m.upstream.WithLabelValues(name)}
	for i, class := range codeClasses {
		am.codes[i] = m.requests.WithLabelValues(name, class)
	}
	actual, _ := m.perApp.LoadOrStore(name, am)
	return actual.(*appMetrics)
}

// Deploy records a finished push: its result and build time.
func (m *Metrics) Deploy(ok bool, build time.Duration) {
	result := "failed"
	if ok {
		result = "ok"
	}
	m.deploys.WithLabelValues(result).Inc()
	if build > 0 {
		m.build.Observe(build.Seconds())
	}
}

// Restart records an instance restarted after it exited.
func (m *Metrics) Restart(app string) { m.restarts.WithLabelValues(app).Inc() }

// poolCollector reports pools and instances per app at scrape time.
type poolCollector struct{ src Source }

var (
	poolsDesc     = prometheus.NewDesc("slipway_pools", "Pools per app by state: live or draining.", []string{"app", "state"}, nil)
	instancesDesc = prometheus.NewDesc("slipway_instances", "Web instances per app by pool state: live or draining.", []string{"app", "state"}, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolsDesc
	ch <- instancesDesc
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.src.Pools() {
		ch <- prometheus.MustNewConstMetric(poolsDesc, prometheus.GaugeValue, float64(p.Live), p.App, "live")
		ch <- prometheus.MustNewConstMetric(poolsDesc, prometheus.GaugeValue, float64(p.Draining), p.App, "draining")
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(p.LiveInstances), p.App, "live")
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(p.DrainingInstances), p.App, "draining")
	}
}
