package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// switchTail is how long after a push ends its requests still count as
// "during a switch".
const switchTail = time.Second

// busyOthers is the share of the CPUs other processes may use before the
// report says the latencies are not slipway's alone.
const busyOthers = 0.05

// report is the outcome of a run: one result per strategy, or the sleep
// run's.
type report struct {
	cfg     config
	results []result
	sleep   *sleepResult // --mode sleep
}

// push is one deploy under load.
type push struct {
	version    int    // VERSION in the pushed commit
	release    string // the release slipway made of it, "v3", from the push output
	start, end time.Time
	err        string // empty when the push succeeded
}

// result is what one strategy did to the clients.
type result struct {
	strategy string // blueGreen or stopStart
	control  bool   // the deploys went to another app
	logPath  string

	sent, failed, late int64
	failedBy           map[string]int64
	sessions, flipped  int64
	steady, switching  latencies
	pushes             []push
	deploys            int // pushes that succeeded
	maxDraining        int
	maxLag             time.Duration // the load generator's worst dispatch lag
	otherCPU           float64       // share of the CPUs other processes used

	timeline []second    // one entry per second of load
	failedAt []time.Time // start of every failed request
	failures []failure
	flips    []flip
	liveAt   map[string]time.Time // release → when slipway logged it live
	notable  []string             // slipway log lines worth a look

	// For --action upgrade and kill9: how long each new slipway took to
	// be ready, and whether every app process was the same at the end.
	action      string
	readyTimes  []time.Duration
	pidsChecked bool
	pidsKept    bool
}

// maxReady returns the longest a new slipway took to be ready.
func (r *result) maxReady() time.Duration {
	var m time.Duration
	for _, d := range r.readyTimes {
		m = max(m, d)
	}
	return m
}

// second is what the requests started in one second of the load did.
type second struct {
	at        int // seconds since the load started
	sent      int
	failed    int
	switching bool // a push was running or had just ended
	lat       latencies
	max       time.Duration
	lag       time.Duration // the load generator's own worst dispatch lag
	otherCPU  float64       // share of the CPUs other processes used
}

// name is how the report calls r: its strategy, and whether it was a
// control run.
func (r *result) name() string {
	if r.control {
		return r.strategy + " (control)"
	}
	return r.strategy
}

// latencies summarizes request durations.
type latencies struct {
	n        int
	p50, p99 time.Duration
}

// summarize counts records and splits their latency into steady state and
// during switches.
func (r *result) summarize(records []record, lag []time.Duration, loadStart time.Time) {
	r.failedBy = map[string]int64{}
	var steady, switching []time.Duration
	var perSecond [][]time.Duration
	for _, rec := range records {
		i := max(0, int(rec.start.Sub(loadStart)/time.Second))
		for len(r.timeline) <= i {
			r.timeline = append(r.timeline, second{at: len(r.timeline)})
			perSecond = append(perSecond, nil)
		}
		during := r.duringSwitch(rec.start)
		sec := &r.timeline[i]
		sec.sent++
		sec.switching = sec.switching || during
		sec.max = max(sec.max, rec.dur)
		perSecond[i] = append(perSecond[i], rec.dur)
		r.sent++
		if rec.kind != "" {
			sec.failed++
			r.failed++
			r.failedBy[rec.kind]++
			r.failedAt = append(r.failedAt, rec.start)
		}
		if during {
			switching = append(switching, rec.dur)
		} else {
			steady = append(steady, rec.dur)
		}
	}
	r.steady, r.switching = summarizeLatency(steady), summarizeLatency(switching)
	for i, ds := range perSecond {
		r.timeline[i].lat = summarizeLatency(ds)
	}
	for i, l := range lag {
		if i < len(r.timeline) {
			r.timeline[i].lag = l
		}
		r.maxLag = max(r.maxLag, l)
	}
	for _, p := range r.pushes {
		if p.err == "" {
			r.deploys++
		}
	}
}

// duringSwitch reports whether t is between a push's start and switchTail
// after its end.
func (r *result) duringSwitch(t time.Time) bool {
	for _, p := range r.pushes {
		if !t.Before(p.start) && !t.After(p.end.Add(switchTail)) {
			return true
		}
	}
	return false
}

func summarizeLatency(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	slices.Sort(ds)
	q := func(f float64) time.Duration { return ds[min(len(ds)-1, int(f*float64(len(ds))))] }
	return latencies{n: len(ds), p50: q(0.50), p99: q(0.99)}
}

// meanPush is the mean time of the pushes.
func (r *result) meanPush() time.Duration {
	if len(r.pushes) == 0 {
		return 0
	}
	var sum time.Duration
	for _, p := range r.pushes {
		sum += p.end.Sub(p.start)
	}
	return sum / time.Duration(len(r.pushes))
}

// misses returns the targets r misses: no failed request, no flipped
// session, every deploy done, p99 during switches at most twice steady.
func (r *result) misses(wantDeploys int) []string {
	var m []string
	// After a kill -9 the requests in flight in slipway fail, and without
	// socket activation so do those until the new slipway listens: they
	// are reported, not a miss.
	if r.failed > 0 && r.action != "kill9" {
		m = append(m, fmt.Sprintf("%d failed", r.failed))
	}
	if r.pidsChecked && !r.pidsKept {
		m = append(m, "app processes were restarted")
	}
	if r.action == "kill9" && r.maxReady() > time.Second {
		m = append(m, fmt.Sprintf("a new slipway took %s to serve (> 1s)", ms(r.maxReady())))
	}
	if r.flipped > 0 {
		m = append(m, fmt.Sprintf("%d flipped sessions", r.flipped))
	}
	if r.deploys < wantDeploys {
		m = append(m, fmt.Sprintf("%d of %d deploys done", r.deploys, wantDeploys))
	}
	restart := r.action == "upgrade" || r.action == "kill9" // p99 reported, not a target
	if r.switching.n > 0 && r.switching.p99 > 2*r.steady.p99 && !restart {
		m = append(m, fmt.Sprintf("p99 during switches %s > 2 × steady %s", ms(r.switching.p99), ms(r.steady.p99)))
	}
	return m
}

// pass reports whether the blue-green run, if any, or the sleep run met
// the targets.
func (rep report) pass() bool {
	if rep.sleep != nil && len(rep.sleep.misses()) > 0 {
		return false
	}
	for _, r := range rep.results {
		if r.strategy == blueGreen && len(r.misses(rep.cfg.Deploys)) > 0 {
			return false
		}
	}
	return true
}

// write prints the side-by-side table, the verdict, and the details of
// what went wrong; kept says whether the work directory will stay.
func (rep report) write(out io.Writer, kept bool) {
	var rows [][]string
	row := func(name string, f func(r *result) string) {
		cells := []string{name}
		for i := range rep.results {
			cells = append(cells, f(&rep.results[i]))
		}
		rows = append(rows, cells)
	}
	row("", func(r *result) string { return r.name() })
	row("requests sent", func(r *result) string { return fmt.Sprint(r.sent) })
	row("failed", func(r *result) string { return fmt.Sprint(r.failed) })
	kinds := map[string]bool{}
	for _, r := range rep.results {
		for k := range r.failedBy {
			kinds[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		row("  "+k, func(r *result) string { return fmt.Sprint(r.failedBy[k]) })
	}
	row("late (not sent)", func(r *result) string { return fmt.Sprint(r.late) })
	row("sessions", func(r *result) string { return fmt.Sprint(r.sessions) })
	row("flipped sessions", func(r *result) string { return fmt.Sprint(r.flipped) })
	row("p50 steady", func(r *result) string { return ms(r.steady.p50) })
	row("p99 steady", func(r *result) string { return ms(r.steady.p99) })
	row("p50 during switches", func(r *result) string { return ms(r.switching.p50) })
	row("p99 during switches", func(r *result) string { return ms(r.switching.p99) })
	row("requests during switches", func(r *result) string { return fmt.Sprint(r.switching.n) })
	row("deploys done", func(r *result) string { return fmt.Sprintf("%d/%d", r.deploys, rep.cfg.Deploys) })
	row("mean push time", func(r *result) string { return fmt.Sprintf("%.2fs", r.meanPush().Seconds()) })
	row("most draining pools", func(r *result) string { return fmt.Sprint(r.maxDraining) })
	if rep.cfg.Action == "upgrade" || rep.cfg.Action == "kill9" {
		row("every app pid kept", func(r *result) string { return fmt.Sprint(r.pidsKept) })
		row("slowest start to ready", func(r *result) string { return ms(r.maxReady()) })
	}
	row("load generator max lag", func(r *result) string { return ms(r.maxLag) })
	row("CPU used by other processes", func(r *result) string { return fmt.Sprintf("%.1f%%", 100*r.otherCPU) })
	fmt.Fprintln(out)
	writeTable(out, rows)
	fmt.Fprintln(out)

	for i := range rep.results {
		r := &rep.results[i]
		m := r.misses(rep.cfg.Deploys)
		switch {
		case len(m) == 0:
			switch r.action {
			case "kill9":
				fmt.Fprintf(out, "verdict: %s MEETS the targets: 0 flipped sessions, every app pid kept, serving again within %s of each start; %d requests failed\n",
					r.name(), ms(r.maxReady()), r.failed)
			case "upgrade":
				fmt.Fprintf(out, "verdict: %s MEETS the targets: 0 failed, 0 flipped sessions, every app pid kept over %d upgrades\n", r.name(), r.deploys)
			default:
				fmt.Fprintf(out, "verdict: %s MEETS the targets: 0 failed, 0 flipped sessions, p99 during switches %s ≤ 2 × steady %s\n",
					r.name(), ms(r.switching.p99), ms(r.steady.p99))
			}
		case r.strategy == stopStart && !r.control:
			fmt.Fprintf(out, "verdict: %s misses the targets, as expected: %s\n", r.name(), strings.Join(m, ", "))
		default:
			fmt.Fprintf(out, "verdict: %s MISSES the targets: %s\n", r.name(), strings.Join(m, ", "))
		}
	}
	for _, r := range rep.results {
		busiest := second{}
		for _, s := range r.timeline {
			if s.otherCPU > busiest.otherCPU {
				busiest = s
			}
		}
		if r.otherCPU > busyOthers || busiest.otherCPU > 2*busyOthers {
			fmt.Fprintf(out, "note: other processes used %.1f%% of the CPUs during the %s run (%.0f%% in second %d): its latencies are not slipway's alone; rerun on a quiet machine\n",
				100*r.otherCPU, r.name(), 100*busiest.otherCPU, busiest.at)
		}
	}
	for i := range rep.results {
		r := &rep.results[i]
		if len(r.misses(rep.cfg.Deploys)) > 0 {
			r.writeDetails(out, kept)
		}
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// writeTable prints rows with the first column aligned left and the
// others right.
func writeTable(out io.Writer, rows [][]string) {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("   " + pad + c)
			}
		}
		fmt.Fprintln(out, b.String())
	}
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
