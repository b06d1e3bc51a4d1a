package stats

import (
	"math"
	"testing"
)

// bounds are the router's latency buckets (package metrics).
var bounds = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// observed returns counters that saw latencies (seconds) on top of prev.
func observed(prev Counters, latencies ...float64) Counters {
	c := Counters{Classes: prev.Classes, Bounds: bounds, Buckets: make([]uint64, len(bounds)), Count: prev.Count}
	copy(c.Buckets, prev.Buckets)
	for _, l := range latencies {
		c.Classes[1]++
		c.Count++
		for i, b := range bounds {
			if l <= b {
				c.Buckets[i]++
			}
		}
	}
	return c
}

func TestCounters_QuantileInterpolatesWithinTheBucket(t *testing.T) {
	many := func(n int, l float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = l
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		before    []float64 // observed before the period: not counted
		latencies []float64
		q, want   float64
	}{
		// 100 requests in (50ms, 100ms]: the 50th is half way.
		{"one bucket, median", nil, many(100, .07), .5, .075},
		{"one bucket, p95", nil, many(100, .07), .95, .0975},
		// 90 fast ones in (1ms, 2.5ms], 10 slow ones in (250ms, 500ms]:
		// p50 among the fast, p95 half way through the slow bucket.
		{"two buckets, median", nil, append(many(90, .002), many(10, .3)...), .5, .001 + .0015*50/90},
		{"two buckets, p95", nil, append(many(90, .002), many(10, .3)...), .95, .375},
		// What came before the period does not count.
		{"only the period", many(1000, 4), many(10, .0005), .95, .00095},
		// Beyond the last bound: the last bound.
		{"beyond the buckets", nil, many(10, 30), .5, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := observed(Counters{Bounds: bounds, Buckets: make([]uint64, len(bounds))}, tc.before...)
			cur := observed(prev, tc.latencies...)
			got, ok := cur.quantile(tc.q, prev)
			if !ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("quantile(%g) = %g, %v, want %g", tc.q, got, ok, tc.want)
			}
		})
	}
	prev := observed(Counters{}, .1)
	if _, ok := prev.quantile(.5, prev); ok {
		t.Errorf("a quantile of a period with no request")
	}
}

func TestCounters_SinceRefusesCountersThatWentBack(t *testing.T) {
	prev := Counters{Classes: [5]uint64{0, 10, 0, 2, 1}, Count: 12}
	cur := Counters{Classes: [5]uint64{0, 15, 1, 2, 4}, Count: 19}
	if d, ok := cur.since(prev); !ok || d != [5]uint64{0, 5, 1, 0, 3} {
		t.Errorf("since = %v, %v", d, ok)
	}
	if _, ok := prev.since(cur); ok {
		t.Errorf("counters that went back taken as a period")
	}
}
