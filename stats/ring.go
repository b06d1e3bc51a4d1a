package stats

import (
	"maps"
	"slices"
	"time"

	"github.com/slipway/slipway"
)

// Samples is how many samples the store keeps per app: an hour at the
// default period.
const Samples = 360

// maxTypes is how many process types the store keeps per app: a type
// beyond them is not drawn until one of them has not run for a window.
const maxTypes = 8

// The store's memory is bounded per app, whatever happens: a ring of
// Samples samples (40 bytes each, 14,400 bytes) and at most maxTypes
// rings of Samples usages (16 bytes each, 5,760 bytes a type): 60,480
// bytes at most, about 26 KB for an app with a web and a worker type,
// plus the last counters read (some 250 bytes). Apps that are gone are
// forgotten at the next sample. TestRing_StaysWithinItsBound holds the
// sizes to this comment.

// sample is what one period saw of an app, less its processes.
type sample struct {
	at       int64     // Unix nanoseconds, the end of the period
	secs     float32   // the period's length; 0: requests not counted
	requests [5]uint32 // by status class, 1xx … 5xx
	p50, p95 float32   // seconds; 0: no request had a response
}

// usage is what one process type's instances used in one period.
type usage struct {
	memory    int64   // bytes
	cpu       float32 // cores; negative: not known
	instances uint16  // 0: the type did not run in the period
}

// typeRing is one process type's usages, slot for slot with its app's
// samples.
type typeRing struct {
	slots    [Samples]usage
	lastSeen uint64 // the app's seq when it last ran
}

// appRing is one app's last Samples samples.
type appRing struct {
	samples [Samples]sample
	types   map[string]*typeRing
	seq     uint64 // samples ever added; the next goes to seq % Samples

	prev   Counters // the counters at the last sample
	prevAt int64
}

func newAppRing() *appRing { return &appRing{types: map[string]*typeRing{}} }

// add appends s with the usage of each process type that ran, dropping
// the oldest sample once the ring is full.
func (r *appRing) add(s sample, used map[string]usage) {
	slot := int(r.seq % Samples)
	r.samples[slot] = s
	for typ, tr := range r.types {
		if _, ok := used[typ]; !ok {
			tr.slots[slot] = usage{}
			if r.seq-tr.lastSeen >= Samples { // out of the window
				delete(r.types, typ)
			}
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(used)) {
		tr := r.types[typ]
		if tr == nil {
			if len(r.types) >= maxTypes {
				continue
			}
			tr = &typeRing{}
			r.types[typ] = tr
		}
		tr.slots[slot] = used[typ]
		tr.lastSeen = r.seq
	}
	r.seq++
}

// stats returns the ring's samples, oldest first.
func (r *appRing) stats(app string, every time.Duration) slipway.AppStats {
	n := min(r.seq, Samples)
	out := slipway.AppStats{App: app, Every: every, Window: every * Samples, Samples: make([]slipway.StatsSample, 0, n)}
	types := slices.Sorted(maps.Keys(r.types))
	for i := r.seq - n; i < r.seq; i++ {
		slot := int(i % Samples)
		s := r.samples[slot]
		ss := slipway.StatsSample{At: time.Unix(0, s.at), Seconds: float64(s.secs),
			P50: seconds(s.p50), P95: seconds(s.p95)}
		for c, v := range s.requests {
			ss.Requests[c] = uint64(v)
		}
		for _, typ := range types {
			u := r.types[typ].slots[slot]
			if u.instances == 0 {
				continue
			}
			ss.Processes = append(ss.Processes, slipway.ProcessUsage{Type: typ, Instances: int(u.instances),
				Memory: u.memory, CPU: max(float64(u.cpu), 0), CPUKnown: u.cpu >= 0})
		}
		out.Samples = append(out.Samples, ss)
	}
	return out
}

func seconds(s float32) time.Duration { return time.Duration(float64(s) * float64(time.Second)) }
