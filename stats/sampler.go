package stats

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/slipway/slipway"
)

// DefaultEvery is how often the sampler samples unless told otherwise.
const DefaultEvery = 10 * time.Second

// Config configures a Sampler.
type Config struct {
	// Every is the sampling period; the store keeps Samples of them (an
	// hour at DefaultEvery, which 0 means).
	Every time.Duration
	// Processes returns every app there is, with its running processes
	// (none for an app that runs none). An app it leaves out is gone and
	// forgotten.
	Processes func() map[string][]Process
	// Requests returns an app's request counters since slipway started;
	// false before its first request. If nil, no request is counted.
	Requests func(app string) (Counters, bool)
	// Now is time.Now if nil; tests move it.
	Now func() time.Time
	// Proc is where procfs is mounted, /proc if empty; tests make one.
	Proc string
}

// Sampler samples every app each period into a bounded store, in memory,
// and gives the admin page an app's last hour (AppStats). Make one with
// New; Start starts its loop and Close stops it.
type Sampler struct {
	cfg Config

	sampling sync.Mutex       // one sample at a time; holds cpu
	cpu      map[string]cpuAt // each instance's CPU time at the last sample

	mu   sync.RWMutex
	apps map[string]*appRing

	start, stop sync.Once
	done        chan struct{} // closed by Close
	exited      chan struct{} // closed when the loop has returned
}

// cpuAt is an instance's CPU time at a moment, both in nanoseconds.
type cpuAt struct{ used, at int64 }

// New returns a sampler for cfg, not yet sampling.
func New(cfg Config) *Sampler {
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Proc == "" {
		cfg.Proc = "/proc"
	}
	if cfg.Requests == nil {
		cfg.Requests = func(string) (Counters, bool) { return Counters{}, false }
	}
	return &Sampler{cfg: cfg, cpu: map[string]cpuAt{}, apps: map[string]*appRing{},
		done: make(chan struct{}), exited: make(chan struct{})}
}

// Start takes a first sample, the baseline of the first period, and then
// one every period until Close.
func (s *Sampler) Start() {
	s.start.Do(func() {
		go func() {
			defer close(s.exited)
			s.Sample()
			t := time.NewTicker(s.cfg.Every)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					s.Sample()
				case <-s.done:
					return
				}
			}
		}()
	})
}

// Close stops the loop and waits for a sample in progress to end.
func (s *Sampler) Close() {
	s.stop.Do(func() { close(s.done) })
	s.start.Do(func() { close(s.exited) }) // never started: nothing to wait for
	<-s.exited
}

// AppStats returns app's samples, oldest first: none for an app not
// sampled yet.
func (s *Sampler) AppStats(app string) slipway.AppStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.apps[app]
	if r == nil {
		return slipway.AppStats{App: app, Every: s.cfg.Every, Window: s.cfg.Every * Samples}
	}
	return r.stats(app, s.cfg.Every)
}

// Sample samples every app now: the loop calls it each period, tests
// when they moved the clock. The files are read before the store is
// locked, so that a page is never kept waiting on /proc.
func (s *Sampler) Sample() {
	s.sampling.Lock()
	defer s.sampling.Unlock()
	now := s.cfg.Now().UnixNano()
	apps := s.cfg.Processes()
	rd := &reader{proc: s.cfg.Proc}
	seen := make(map[string]cpuAt, len(s.cpu))
	type reading struct {
		counters Counters
		used     map[string]usage
	}
	readings := make(map[string]reading, len(apps))
	for app, procs := range apps {
		c, _ := s.cfg.Requests(app)
		readings[app] = reading{counters: c, used: s.usage(rd, procs, now, seen)}
	}
	s.cpu = seen // instances gone are forgotten

	s.mu.Lock()
	defer s.mu.Unlock()
	for app := range s.apps {
		if _, ok := apps[app]; !ok {
			delete(s.apps, app)
		}
	}
	for app, got := range readings {
		r := s.apps[app]
		if r == nil {
			r = newAppRing()
			s.apps[app] = r
		}
		smp := sample{at: now}
		if d, ok := got.counters.since(r.prev); ok && r.prevAt != 0 && now > r.prevAt {
			smp.secs = float32(float64(now-r.prevAt) / 1e9)
			for i, n := range d {
				smp.requests[i] = uint32(min(n, math.MaxUint32))
			}
			if p, ok := got.counters.quantile(.5, r.prev); ok {
				smp.p50 = float32(p)
			}
			if p, ok := got.counters.quantile(.95, r.prev); ok {
				smp.p95 = float32(p)
			}
		}
		r.prev, r.prevAt = got.counters, now
		r.add(smp, got.used)
	}
}

// usage reads procs and sums them by process type. An instance's CPU is
// its CPU time since the last sample over the time between them, so an
// instance seen for the first time adds none; the type's CPU is not
// known when none of its instances was seen before.
func (s *Sampler) usage(rd *reader, procs []Process, now int64, seen map[string]cpuAt) map[string]usage {
	used := map[string]usage{}
	for _, p := range procs {
		if p.PID <= 0 && p.MemoryDir == "" {
			continue // not on this host
		}
		m, memOK := rd.memory(p)
		ns, cpuOK := rd.cpu(p)
		if !memOK && !cpuOK {
			continue // gone since it was listed
		}
		u, ok := used[p.Type]
		if !ok {
			u.cpu = -1
		}
		u.instances = min(u.instances+1, math.MaxUint16)
		u.memory += m
		key := "pid:" + strconv.Itoa(p.PID)
		if p.MemoryDir != "" {
			key = "cgroup:" + p.MemoryDir
		}
		if cpuOK {
			seen[key] = cpuAt{used: ns, at: now}
			if before, ok := s.cpu[key]; ok && ns >= before.used && now > before.at {
				u.cpu = max(u.cpu, 0) + float32(float64(ns-before.used)/float64(now-before.at))
			}
		}
		used[p.Type] = u
	}
	return used
}
