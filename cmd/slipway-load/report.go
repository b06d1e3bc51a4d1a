package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
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

// report is the outcome of a run: one result per strategy.
type report struct {
	cfg     config
	results []result
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
	strategy string
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

	timeline []second   // one entry per second of load
	failedAt []time.Time // start of every failed request
	failures []failure
	flips    []flip
	liveAt   map[string]time.Time // release → when slipway logged it live
	notable  []string             // slipway log lines worth a look
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
		sec := &r.timeline[i]
		sec.sent++
		if rec.kind != "" {
			sec.failed++
		}
		sec.switching = sec.switching || r.duringSwitch(rec.start)
		sec.max = max(sec.max, rec.dur)
		perSecond[i] = append(perSecond[i], rec.dur)
		r.sent++
		if rec.kind != "" {
			r.failed++
			r.failedBy[rec.kind]++
			r.failedAt = append(r.failedAt, rec.start)
		}
		if r.duringSwitch(rec.start) {
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
	if r.failed > 0 {
		m = append(m, fmt.Sprintf("%d failed", r.failed))
	}
	if r.flipped > 0 {
		m = append(m, fmt.Sprintf("%d flipped sessions", r.flipped))
	}
	if r.deploys < wantDeploys {
		m = append(m, fmt.Sprintf("%d of %d deploys done", r.deploys, wantDeploys))
	}
	if r.switching.n > 0 && r.switching.p99 > 2*r.steady.p99 {
		m = append(m, fmt.Sprintf("p99 during switches %s > 2 × steady %s", ms(r.switching.p99), ms(r.steady.p99)))
	}
	return m
}

// pass reports whether the blue-green run, if any, met the targets.
func (rep report) pass() bool {
	for _, r := range rep.results {
		if r.strategy == blueGreen && len(r.misses(rep.cfg.Deploys)) > 0 {
			return false
		}
	}
	return true
}

// write prints the side-by-side table, the verdict, and the details of
// what went wrong.
func (rep report) write(out io.Writer) {
	var rows [][]string
	row := func(name string, f func(r *result) string) {
		cells := []string{name}
		for i := range rep.results {
			cells = append(cells, f(&rep.results[i]))
		}
		rows = append(rows, cells)
	}
	row("", func(r *result) string { return r.strategy })
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
			fmt.Fprintf(out, "verdict: %s MEETS the targets: 0 failed, 0 flipped sessions, p99 during switches %s ≤ 2 × steady %s\n",
				r.strategy, ms(r.switching.p99), ms(r.steady.p99))
		case r.strategy == stopStart:
			fmt.Fprintf(out, "verdict: %s misses the targets, as expected: %s\n", r.strategy, strings.Join(m, ", "))
		default:
			fmt.Fprintf(out, "verdict: %s MISSES the targets: %s\n", r.strategy, strings.Join(m, ", "))
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
			fmt.Fprintf(out, "note: other processes used %.1f%% of the CPUs during the %s run (%.0f%% in second %d): its latencies include that\n",
				100*r.otherCPU, r.strategy, 100*busiest.otherCPU, busiest.at)
		}
	}
	for i := range rep.results {
		r := &rep.results[i]
		if len(r.misses(rep.cfg.Deploys)) > 0 {
			r.writeDetails(out)
		}
	}
}

// writeDetails prints what happened around each push, the slowest
// seconds, samples of the failed requests and flipped sessions, and
// slipway's log lines worth a look.
func (r *result) writeDetails(out io.Writer) {
	const maxShown, maxLines = 5, 12
	fmt.Fprintf(out, "\n[%s] details (in %s: slipway.log, timeline.csv per second, requests.csv, pushes.csv)\n",
		r.strategy, filepath.Dir(r.logPath))
	for i, a := range r.aroundPushes() {
		p := r.pushes[i]
		line := fmt.Sprintf("  push %d (%s): ", p.version, p.release)
		if p.err != "" {
			line += "FAILED: " + p.err
		} else {
			line += "ok"
		}
		line += fmt.Sprintf(", took %.3fs", p.end.Sub(p.start).Seconds())
		if t, ok := r.liveAt[p.release]; ok {
			line += fmt.Sprintf(", live %+.3fs after its start", t.Sub(p.start).Seconds())
		}
		if a.failed > 0 {
			line += fmt.Sprintf("; %d failed, started %+.3fs to %+.3fs from the switch", a.failed, a.first.Seconds(), a.last.Seconds())
		}
		if a.flipped > 0 {
			line += fmt.Sprintf("; %d sessions flipped", a.flipped)
		}
		fmt.Fprintln(out, line)
	}
	worst := slices.Clone(r.timeline)
	slices.SortFunc(worst, func(a, b second) int { return cmp.Compare(b.lat.p99, a.lat.p99) })
	for _, sec := range worst[:min(3, len(worst))] {
		phase := "steady"
		if sec.switching {
			phase = "during a switch"
		}
		fmt.Fprintf(out, "  slow second %ds (%s): p99 %s, max %s, %d requests, %d failed; load generator lag %s, other processes %.0f%% CPU\n",
			sec.at, phase, ms(sec.lat.p99), ms(sec.max), sec.sent, sec.failed, ms(sec.lag), 100*sec.otherCPU)
	}
	for i, f := range r.failures {
		if i == maxShown {
			fmt.Fprintf(out, "  … %d more failed requests\n", r.failed-maxShown)
			break
		}
		fmt.Fprintf(out, "  failed: %s after %s, %s, session %d request %d, cookie %s: %s\n",
			f.kind, ms(f.dur), r.when(f.start), f.session, f.seq, f.pinned, f.detail)
	}
	for i, f := range r.flips {
		if i == maxShown {
			fmt.Fprintf(out, "  … %d more flipped sessions\n", r.flipped-maxShown)
			break
		}
		fmt.Fprintf(out, "  flipped: session %d request %d got %s after %s, cookie %s, %s\n",
			f.session, f.seq, f.to, f.from, f.pinned, r.when(f.at))
	}
	for i, line := range r.notable {
		if i == maxLines {
			fmt.Fprintf(out, "  … %d more log lines\n", len(r.notable)-maxLines)
			break
		}
		fmt.Fprintf(out, "  log: %s\n", line)
	}
}

// around is what happened to the clients around one push.
type around struct {
	failed      int
	first, last time.Duration // start of the failed requests, from the switch
	flipped     int
}

// aroundPushes counts failed requests and flipped sessions by the push
// nearest to them.
func (r *result) aroundPushes() []around {
	as := make([]around, len(r.pushes))
	for _, t := range r.failedAt {
		i := r.nearestPush(t)
		if i < 0 {
			continue
		}
		a := &as[i]
		d := t.Sub(r.switchedAt(i))
		if a.failed == 0 || d < a.first {
			a.first = d
		}
		if a.failed == 0 || d > a.last {
			a.last = d
		}
		a.failed++
	}
	for _, f := range r.flips {
		if i := r.nearestPush(f.at); i >= 0 {
			as[i].flipped++
		}
	}
	return as
}

// nearestPush returns the index of the push that started nearest to t, or
// -1 if there was none.
func (r *result) nearestPush(t time.Time) int {
	best := -1
	for i, p := range r.pushes {
		if best < 0 || absDur(t.Sub(p.start)) < absDur(t.Sub(r.pushes[best].start)) {
			best = i
		}
	}
	return best
}

// switchedAt is when push i's release went live, as slipway logged it, or
// the push's start if it did not.
func (r *result) switchedAt(i int) time.Time {
	if t, ok := r.liveAt[r.pushes[i].release]; ok {
		return t
	}
	return r.pushes[i].start
}

// when describes t relative to the nearest push and its switch.
func (r *result) when(t time.Time) string {
	i := r.nearestPush(t)
	if i < 0 {
		return "no push"
	}
	p := r.pushes[i]
	s := fmt.Sprintf("%+.3fs from the start of push %d (%s, took %.3fs)", t.Sub(p.start).Seconds(), p.version, p.release, p.end.Sub(p.start).Seconds())
	if lt, ok := r.liveAt[p.release]; ok {
		s += fmt.Sprintf(", %+.3fs from %s going live", t.Sub(lt).Seconds(), p.release)
	}
	return s
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

// timelinePath is where writeTimeline puts the per-second CSV.
func (r *result) timelinePath() string {
	return filepath.Join(filepath.Dir(r.logPath), "timeline.csv")
}

// writeRequests writes every request as CSV beside slipway's log, with its
// start in seconds since the load started.
func writeRequests(path string, records []record, loadStart time.Time) error {
	var b strings.Builder
	b.WriteString("start_s,duration_ms,session,seq,release,failure\n")
	for _, rec := range records {
		fmt.Fprintf(&b, "%.6f,%.3f,%d,%d,%s,%q\n", rec.start.Sub(loadStart).Seconds(), float64(rec.dur)/1e6,
			rec.session, rec.seq, rec.release, rec.kind)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// writePushes writes the pushes as CSV beside slipway's log, with times in
// seconds since the load started.
func (r *result) writePushes(loadStart time.Time) error {
	var b strings.Builder
	b.WriteString("version,release,start_s,end_s,live_s,error\n")
	for _, p := range r.pushes {
		live := ""
		if t, ok := r.liveAt[p.release]; ok {
			live = fmt.Sprintf("%.6f", t.Sub(loadStart).Seconds())
		}
		fmt.Fprintf(&b, "%d,%s,%.6f,%.6f,%s,%q\n", p.version, p.release,
			p.start.Sub(loadStart).Seconds(), p.end.Sub(loadStart).Seconds(), live, p.err)
	}
	return os.WriteFile(filepath.Join(filepath.Dir(r.logPath), "pushes.csv"), []byte(b.String()), 0o644)
}

// writeTimeline writes the per-second numbers as CSV beside slipway's log.
func (r *result) writeTimeline() error {
	var b strings.Builder
	b.WriteString("second,sent,failed,switching,p50_ms,p99_ms,max_ms,generator_lag_ms,other_cpu_pct\n")
	for _, s := range r.timeline {
		fmt.Fprintf(&b, "%d,%d,%d,%t,%.3f,%.3f,%.3f,%.3f,%.1f\n", s.at, s.sent, s.failed, s.switching,
			float64(s.lat.p50)/1e6, float64(s.lat.p99)/1e6, float64(s.max)/1e6, float64(s.lag)/1e6, 100*s.otherCPU)
	}
	return os.WriteFile(r.timelinePath(), []byte(b.String()), 0o644)
}
