package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// AppRequests are an app's request counters since slipway started, as the
// router counted them for slipway_http_requests_total and
// slipway_upstream_duration_seconds.
type AppRequests struct {
	Classes [5]uint64 // by status class: [0] is 1xx … [4] 5xx
	// Bounds are the upper bounds of the upstream latency histogram's
	// buckets in seconds, ascending; Buckets the cumulative count of
	// observations at most each; Count all of them (the +Inf bucket).
	Bounds  []float64
	Buckets []uint64
	Count   uint64
}

// Requests returns app's counters, for the sampler of the admin page's
// charts (package stats). They are read as a scrape reads them, so the
// router's request path does no more than it did; ok is false before
// the app's first request.
func (m *Metrics) Requests(app string) (r AppRequests, ok bool) {
	v, ok := m.perApp.Load(app)
	if !ok {
		return r, false
	}
	am := v.(*appMetrics)
	var d dto.Metric
	for i, c := range am.codes {
		d.Reset()
		if c.Write(&d) == nil {
			r.Classes[i] = uint64(d.GetCounter().GetValue())
		}
	}
	h, isMetric := am.latency.(prometheus.Metric)
	d.Reset()
	if !isMetric || h.Write(&d) != nil {
		return r, true
	}
	hist := d.GetHistogram()
	r.Count = hist.GetSampleCount()
	for _, b := range hist.GetBucket() {
		r.Bounds = append(r.Bounds, b.GetUpperBound())
		r.Buckets = append(r.Buckets, b.GetCumulativeCount())
	}
	return r, true
}
