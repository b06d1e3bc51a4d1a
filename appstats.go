package slipway

import "time"

// AppStats is an app's recent past as slipway sampled it for the admin
// page's charts (package stats): one sample every Every, at most Window
// of them, oldest first. /metrics, for Prometheus, is apart from it.
type AppStats struct {
	App    string
	Every  time.Duration // the sampling period
	Window time.Duration // how far back the samples reach at most
	// Samples are the periods sampled, oldest first; a period missing
	// (slipway restarted) is a gap in time between two of them.
	Samples []StatsSample
}

// StatsSample is what one sampling period saw of an app.
type StatsSample struct {
	At time.Time // the end of the period
	// Seconds is the length of the period the requests were counted
	// over; 0 when they were not (the app's first sample): Requests, P50
	// and P95 then say nothing.
	Seconds float64
	// Requests are the requests the router proxied in the period by
	// status class: [0] is 1xx … [4] 5xx (502 for an instance that did
	// not answer).
	Requests [5]uint64
	// P50 and P95 are the upstream latency percentiles of the period's
	// requests (time to the response headers), interpolated within the
	// router's histogram buckets; 0 when no request had a response.
	P50, P95 time.Duration
	// Processes are per process type, sorted by type: what its running
	// instances, live and draining, used together.
	Processes []ProcessUsage
}

// Total is how many requests the period counted.
func (s StatsSample) Total() uint64 {
	var n uint64
	for _, c := range s.Requests {
		n += c
	}
	return n
}

// Rate is requests per second of status class i (0 is 1xx … 4 is 5xx), or
// of every class when i is -1; 0 when the period counted none.
func (s StatsSample) Rate(i int) float64 {
	if s.Seconds <= 0 {
		return 0
	}
	if i < 0 {
		return float64(s.Total()) / s.Seconds
	}
	return float64(s.Requests[i]) / s.Seconds
}

// ProcessUsage is what one process type's instances used together.
type ProcessUsage struct {
	Type      string // web, worker, …
	Instances int
	// Memory is the bytes they held at the end of the period: their
	// cgroup's usage less the page cache the kernel may drop
	// (inactive_file), or their resident set without a cgroup.
	Memory int64
	// CPU is the cores they kept busy over the period on average (1: one
	// core all the time); CPUKnown is false when none of them was read at
	// the period's start too (each one's first sample).
	CPU      float64
	CPUKnown bool
}
