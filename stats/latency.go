package stats

// Counters are an app's request counters since slipway started, as the
// router counted them (package metrics's AppRequests, field for field).
type Counters struct {
	Classes [5]uint64 // by status class: [0] is 1xx … [4] 5xx
	// Bounds are the upper bounds of the upstream latency histogram's
	// buckets in seconds, ascending; Buckets the cumulative count of
	// observations at most each; Count all of them (the +Inf bucket).
	Bounds  []float64
	Buckets []uint64
	Count   uint64
}

// since returns the requests by class counted from prev to c, and false
// when c is not a later reading of the same counters (one went back).
func (c Counters) since(prev Counters) ([5]uint64, bool) {
	var d [5]uint64
	for i := range c.Classes {
		if c.Classes[i] < prev.Classes[i] {
			return d, false
		}
		d[i] = c.Classes[i] - prev.Classes[i]
	}
	return d, c.Count >= prev.Count
}

// quantile returns the q-quantile (0 < q ≤ 1) of the latencies observed
// from prev to c, in seconds: found in the bucket where it falls and
// interpolated linearly within it, as Prometheus's histogram_quantile
// does; the last bound when it falls beyond it. False when nothing was
// observed in between.
func (c Counters) quantile(q float64, prev Counters) (float64, bool) {
	total := c.Count - prev.Count
	if total == 0 || len(c.Bounds) == 0 || len(c.Buckets) != len(c.Bounds) {
		return 0, false
	}
	delta := func(i int) float64 {
		if len(prev.Buckets) == len(c.Buckets) {
			return float64(c.Buckets[i] - prev.Buckets[i])
		}
		return float64(c.Buckets[i]) // no earlier reading of these buckets
	}
	rank := q * float64(total)
	lower, below := 0.0, 0.0
	for i, bound := range c.Bounds {
		n := delta(i)
		if n >= rank {
			if n == below {
				return bound, true
			}
			return lower + (bound-lower)*(rank-below)/(n-below), true
		}
		lower, below = bound, n
	}
	return c.Bounds[len(c.Bounds)-1], true
}
