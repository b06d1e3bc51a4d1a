package stats

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// clock is a fake time.Now that tests move.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// world is what a sampler under test reads: the apps with their
// processes, and each app's counters.
type world struct {
	mu       sync.Mutex
	procs    map[string][]Process
	counters map[string]Counters
}

func newWorld() *world {
	return &world{procs: map[string][]Process{}, counters: map[string]Counters{}}
}

func (w *world) Processes() map[string][]Process {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string][]Process, len(w.procs))
	for k, v := range w.procs {
		out[k] = append([]Process(nil), v...)
	}
	return out
}

func (w *world) Requests(app string) (Counters, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.counters[app]
	return c, ok
}

func (w *world) set(app string, procs ...Process) {
	w.mu.Lock()
	w.procs[app] = procs
	w.mu.Unlock()
}

func (w *world) forget(app string) {
	w.mu.Lock()
	delete(w.procs, app)
	w.mu.Unlock()
}

// serve has app answer requests: n of each latency (seconds) with class
// 2xx, and errors with class 5xx and no latency (a 502).
func (w *world) serve(app string, latencies []float64, errors int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.counters[app]
	if c.Bounds == nil {
		c = Counters{Bounds: bounds, Buckets: make([]uint64, len(bounds))}
	}
	c = observed(c, latencies...)
	c.Classes[4] += uint64(errors)
	w.counters[app] = c
}

// newSampler returns a sampler of w on the fake clock, not started.
func newSampler(t *testing.T, w *world, c *clock, proc string) *Sampler {
	t.Helper()
	s := New(Config{Processes: w.Processes, Requests: w.Requests, Now: c.Now, Proc: proc})
	t.Cleanup(s.Close)
	return s
}

// write writes files under dir: name → content.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// procStat is a /proc/PID/stat line of a process named name (which may
// hold spaces and parentheses) with parent ppid and CPU ticks.
func procStat(pid, ppid int, name string, utime, stime, cutime, cstime int) string {
	return fmt.Sprintf("%d (%s) S %d %d %d 0 -1 4194304 100 0 0 0 %d %d %d %d 20 0 1 0 12345 1000000 250 18446744073709551615\n",
		pid, name, ppid, pid, pid, utime, stime, cutime, cstime)
}
