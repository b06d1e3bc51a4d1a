package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// writeDetails prints what happened around each push, the slowest
// seconds, samples of the failed requests and flipped sessions, and
// slipway's log lines worth a look. With kept (the work directory stays),
// it names the files that hold the raw numbers.
func (r *result) writeDetails(out io.Writer, kept bool) {
	const maxShown, maxLines = 5, 12
	if kept {
		fmt.Fprintf(out, "\n[%s] details (in %s: slipway.log, timeline.csv per second, requests.csv, pushes.csv)\n",
			r.name(), filepath.Dir(r.logPath))
	} else {
		fmt.Fprintf(out, "\n[%s] details (--keep keeps slipway's log and the raw numbers)\n", r.name())
	}
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
