package stats

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/slipway/slipway/internal/testutil"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

// Each period's requests per second by class and its p50 and p95 come
// from the counters' difference over the period; the first period of an
// app has no earlier reading and counts none.
func TestSampler_RatesAndPercentilesOfEachPeriod(t *testing.T) {
	w, c := newWorld(), newClock()
	w.set("shop")
	w.serve("shop", []float64{.003}, 0) // before the sampler saw the app: not counted
	s := newSampler(t, w, c, t.TempDir())
	s.Sample()
	c.add(10 * time.Second)
	var lat []float64
	for range 90 {
		lat = append(lat, .002) // (1ms, 2.5ms]
	}
	for range 10 {
		lat = append(lat, .3) // (250ms, 500ms]
	}
	w.serve("shop", lat, 5)
	s.Sample()
	c.add(10 * time.Second)
	s.Sample() // a quiet period

	st := s.AppStats("shop")
	if st.Every != DefaultEvery || st.Window != time.Hour || len(st.Samples) != 3 {
		t.Fatalf("stats: every %s, window %s, %d samples", st.Every, st.Window, len(st.Samples))
	}
	first, busy, quiet := st.Samples[0], st.Samples[1], st.Samples[2]
	if first.Seconds != 0 || first.Total() != 0 {
		t.Errorf("the first sample counted %d requests over %gs, want none", first.Total(), first.Seconds)
	}
	if !busy.At.Equal(c.Now().Add(-10 * time.Second)) {
		t.Errorf("the busy period ends at %s", busy.At)
	}
	if busy.Seconds != 10 || busy.Requests != [5]uint64{0, 100, 0, 0, 5} {
		t.Errorf("busy period: %v over %gs, want 100 2xx and 5 5xx over 10s", busy.Requests, busy.Seconds)
	}
	if got := busy.Rate(1); !near(got, 10) {
		t.Errorf("2xx rate = %g/s, want 10", got)
	}
	if got := busy.Rate(-1); !near(got, 10.5) {
		t.Errorf("total rate = %g/s, want 10.5", got)
	}
	// p50: the 50th of 90 in (1ms, 2.5ms]; p95: half way in (250ms, 500ms].
	if want := .001 + .0015*50/90; !near(busy.P50.Seconds(), want) {
		t.Errorf("p50 = %s, want %gs", busy.P50, want)
	}
	if !near(busy.P95.Seconds(), .375) {
		t.Errorf("p95 = %s, want 375ms", busy.P95)
	}
	if quiet.Seconds != 10 || quiet.Total() != 0 || quiet.P50 != 0 || quiet.P95 != 0 {
		t.Errorf("quiet period: %+v", quiet)
	}
	if got := s.AppStats("nobody"); len(got.Samples) != 0 || got.Every != DefaultEvery {
		t.Errorf("an app never sampled: %+v", got)
	}
}

// Memory and CPU per process type, summed over its instances, from
// cgroup v2 and v1 files; CPU is the CPU time used over the period.
func TestSampler_ReadsCgroups(t *testing.T) {
	root := t.TempDir()
	v2a, v2b := filepath.Join(root, "v2", "web1"), filepath.Join(root, "v2", "web2")
	v1mem, v1cpu := filepath.Join(root, "memory", "worker1"), filepath.Join(root, "cpu", "worker1")
	write(t, v2a, map[string]string{"memory.current": "10000000\n", "memory.stat": "anon 6000000\ninactive_file 2000000\n", "cpu.stat": "usage_usec 5000000\nuser_usec 4000000\n"})
	write(t, v2b, map[string]string{"memory.current": "3000000\n", "memory.stat": "inactive_file 0\n", "cpu.stat": "usage_usec 1000000\n"})
	write(t, v1mem, map[string]string{"memory.usage_in_bytes": "50000000\n", "memory.stat": "cache 1\ninactive_file 1\ntotal_inactive_file 10000000\n"})
	write(t, v1cpu, map[string]string{"cpuacct.usage": "1000000000\n"})
	w, c := newWorld(), newClock()
	w.set("shop",
		Process{Type: "web", PID: 10, MemoryDir: v2a, CPUDir: v2a},
		Process{Type: "web", PID: 11, MemoryDir: v2b, CPUDir: v2b},
		Process{Type: "worker", PID: 12, MemoryDir: v1mem, CPUDir: v1cpu},
		Process{Type: "web", PID: 0},                                          // a pod elsewhere: not read, not counted
		Process{Type: "web", PID: 13, MemoryDir: filepath.Join(root, "gone")}, // ended since it was listed
	)
	s := newSampler(t, w, c, t.TempDir())
	s.Sample()
	c.add(10 * time.Second)
	// web: 5s + 2.5s over 10s; worker: 2.5s over 10s.
	write(t, v2a, map[string]string{"cpu.stat": "usage_usec 10000000\n"})
	write(t, v2b, map[string]string{"cpu.stat": "usage_usec 3500000\n", "memory.current": "4000000\n"})
	write(t, v1cpu, map[string]string{"cpuacct.usage": "3500000000\n"})
	s.Sample()

	st := s.AppStats("shop")
	first, second := st.Samples[0].Processes, st.Samples[1].Processes
	if len(first) != 2 || first[0].Type != "web" || first[1].Type != "worker" {
		t.Fatalf("first sample's processes: %+v", first)
	}
	if first[0].CPUKnown || first[0].Instances != 2 || first[0].Memory != 8000000+3000000 {
		t.Errorf("web at first: %+v, want 2 instances, 11000000 bytes, CPU not known yet", first[0])
	}
	web, worker := second[0], second[1]
	if !web.CPUKnown || !near(web.CPU, .75) || web.Memory != 8000000+4000000 {
		t.Errorf("web: %+v, want 0.75 cores and 12000000 bytes", web)
	}
	if !worker.CPUKnown || !near(worker.CPU, .25) || worker.Memory != 40000000 || worker.Instances != 1 {
		t.Errorf("worker: %+v, want 0.25 cores and 40000000 bytes", worker)
	}
}

// Without a cgroup, an instance is its pid and every descendant, read
// from /proc; with a cgroup v1 that has no cpuacct beside cpu, its CPU is
// that of the processes its memory cgroup holds.
func TestSampler_ReadsProcWithoutCgroupCPU(t *testing.T) {
	proc, cg := t.TempDir(), t.TempDir()
	page := os.Getpagesize()
	stats := func(ticks int) map[string]string {
		return map[string]string{
			"100/stat": procStat(100, 1, "sh", ticks, 0, 0, 0), "100/statm": "1000 10 5 1 0 50 0\n",
			"101/stat": procStat(101, 100, "my (weird) app", ticks, ticks, 0, 0), "101/statm": "1000 20 5 1 0 50 0\n",
			"102/stat": procStat(102, 101, "child", 0, 0, ticks, 0), "102/statm": "1000 30 5 1 0 50 0\n",
			"200/stat": procStat(200, 1, "not ours", 5000, 5000, 0, 0), "200/statm": "1000 999 5 1 0 50 0\n",
			"300/stat": procStat(300, 1, "in a cgroup", ticks, 0, 0, 0), "300/statm": "1000 1 5 1 0 50 0\n",
			"self": "not a pid",
		}
	}
	write(t, proc, stats(100))
	write(t, cg, map[string]string{"memory.usage_in_bytes": "4096\n", "memory.stat": "total_inactive_file 0\n", "cgroup.procs": "300\n"})
	w, c := newWorld(), newClock()
	w.set("shop", Process{Type: "web", PID: 100}, Process{Type: "worker", PID: 300, MemoryDir: cg})
	s := newSampler(t, w, c, proc)
	s.Sample()
	c.add(10 * time.Second)
	write(t, proc, stats(300)) // 200 more ticks each: 2s a field
	s.Sample()

	ps := s.AppStats("shop").Samples[1].Processes
	if len(ps) != 2 {
		t.Fatalf("processes: %+v", ps)
	}
	web, worker := ps[0], ps[1]
	if want := int64((10 + 20 + 30) * page); web.Memory != want {
		t.Errorf("web memory = %d, want %d (pid 100 and its descendants)", web.Memory, want)
	}
	// 100: 2s, 101: 4s, 102: 2s (children waited for) over 10s.
	if !web.CPUKnown || !near(web.CPU, .8) {
		t.Errorf("web CPU = %g (%v), want 0.8", web.CPU, web.CPUKnown)
	}
	if !worker.CPUKnown || !near(worker.CPU, .2) || worker.Memory != 4096 {
		t.Errorf("worker = %+v, want 0.2 cores of pid 300 and the cgroup's 4096 bytes", worker)
	}
}

// The store is a fixed ring per app: it never holds more than Samples
// samples nor more than maxTypes process types, drops a type that has
// not run for a window, and forgets an app that is gone.
func TestRing_StaysWithinItsBound(t *testing.T) {
	if got := [2]uintptr{unsafe.Sizeof(sample{}), unsafe.Sizeof(usage{})}; got != [2]uintptr{40, 16} {
		t.Errorf("sample and usage are %v bytes, the bound in ring.go's comment says 40 and 16", got)
	}
	w, c := newWorld(), newClock()
	s := newSampler(t, w, c, t.TempDir())
	dirs := map[string]string{}
	for i := range 20 {
		dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
		write(t, dir, map[string]string{"memory.current": "1000\n"})
		dirs["type"+strconv.Itoa(i)] = dir
	}
	w.set("gone", Process{Type: "web", PID: 1, MemoryDir: dirs["type0"]})
	for i := range 1000 {
		// Every sample, a type among 20: far more than maxTypes.
		typ := "type" + strconv.Itoa(i%20)
		w.set("shop", Process{Type: typ, PID: 1, MemoryDir: dirs[typ]})
		if i == 500 {
			w.forget("gone")
		}
		w.serve("shop", []float64{.01}, 0)
		s.Sample()
		c.add(DefaultEvery)
	}
	st := s.AppStats("shop")
	if len(st.Samples) != Samples {
		t.Errorf("%d samples kept, want %d", len(st.Samples), Samples)
	}
	for i := 1; i < len(st.Samples); i++ {
		if !st.Samples[i].At.After(st.Samples[i-1].At) {
			t.Fatalf("samples out of order at %d", i)
		}
	}
	if got := st.Samples[len(st.Samples)-1].At; !got.Equal(c.Now().Add(-DefaultEvery)) {
		t.Errorf("the newest sample is of %s", got)
	}
	s.mu.RLock()
	types, apps := len(s.apps["shop"].types), len(s.apps)
	s.mu.RUnlock()
	if types > maxTypes {
		t.Errorf("%d process types kept, at most %d", types, maxTypes)
	}
	if apps != 1 {
		t.Errorf("%d apps kept, want the one still there", apps)
	}
	// A type that stops running leaves once out of the window, and one
	// that was left out is drawn then.
	w.set("shop", Process{Type: "late", PID: 1, MemoryDir: dirs["type1"]})
	for range Samples {
		s.Sample()
		c.add(DefaultEvery)
	}
	last := s.AppStats("shop").Samples[Samples-1].Processes
	if len(last) != 1 || last[0].Type != "late" {
		t.Errorf("the newest sample's processes: %+v, want late alone", last)
	}
	s.mu.RLock()
	types = len(s.apps["shop"].types)
	s.mu.RUnlock()
	if types != 1 {
		t.Errorf("%d types kept after a window with one", types)
	}
}

// Start samples at once and every period; Close stops it.
func TestSampler_StartSamplesUntilClose(t *testing.T) {
	w := newWorld()
	w.set("shop")
	s := New(Config{Every: time.Millisecond, Processes: w.Processes, Requests: w.Requests, Proc: t.TempDir()})
	s.Start()
	s.Start() // once
	testutil.WaitFor(t, "three samples", func() bool { return len(s.AppStats("shop").Samples) >= 3 })
	s.Close()
	s.Close()
	n := len(s.AppStats("shop").Samples)
	if st := s.AppStats("shop"); st.Window != Samples*time.Millisecond {
		t.Errorf("window = %s", st.Window)
	}
	w.set("shop", Process{Type: "web", PID: 1})
	if got := len(s.AppStats("shop").Samples); got != n {
		t.Errorf("samples after Close: %d, then %d", n, got)
	}
	New(Config{Processes: w.Processes}).Close() // never started
}

// The real /proc: this test's own process has memory, and CPU once read
// twice.
func TestSampler_ReadsTheRealProc(t *testing.T) {
	w, c := newWorld(), newClock()
	w.set("self", Process{Type: "web", PID: os.Getpid()})
	s := New(Config{Processes: w.Processes, Now: c.Now})
	s.Sample()
	c.add(time.Second)
	s.Sample()
	p := s.AppStats("self").Samples[1].Processes
	if len(p) != 1 || p[0].Memory < 1<<20 || !p[0].CPUKnown || p[0].CPU < 0 {
		t.Errorf("this process: %+v, want at least 1M of memory and a CPU reading", p)
	}
}

// BenchmarkSampler_Sample is one sample of 100 apps of two cgroup v2
// instances each, with their counters.
func BenchmarkSampler_Sample(b *testing.B) {
	w, c := newWorld(), newClock()
	root := b.TempDir()
	for a := range 100 {
		app := "app" + strconv.Itoa(a)
		var procs []Process
		for i := range 2 {
			dir := filepath.Join(root, app, strconv.Itoa(i))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			for name, content := range map[string]string{"memory.current": "1000000\n", "memory.stat": "anon 1\ninactive_file 10\n", "cpu.stat": "usage_usec 5000\n"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			procs = append(procs, Process{Type: []string{"web", "worker"}[i], PID: 1, MemoryDir: dir, CPUDir: dir})
		}
		w.set(app, procs...)
		w.serve(app, []float64{.01, .02}, 1)
	}
	s := New(Config{Processes: w.Processes, Requests: w.Requests, Now: c.Now, Proc: b.TempDir()})
	b.ReportAllocs()
	for b.Loop() {
		c.add(DefaultEvery)
		s.Sample()
	}
}
