package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The sleep run (--mode sleep) times the wake of a sleeping draining pool.
// It starts slipway with a short --drain-sleep-after, deploys a Python
// http.server app Releases times and pins a group of Sessions sessions to
// each release while it is live, then deploys one release more, which
// stays live, so that every pinned pool drains. Then, Cycles times, it
// sends nothing until every pinned pool sleeps (ps says so and its
// processes are gone), and each group comes back in turn: all its sessions
// at once, whose first requests wait for the wake, then FollowUps requests
// each. Every answer must be 200 from the session's own release.

// The targets for the wake: from a session's first request after
// its pool slept to the answer.
const (
	wakeP50Target = 300 * time.Millisecond
	wakeP99Target = time.Second
)

// Waiting for the pools to sleep.
const (
	psEvery   = 200 * time.Millisecond // how often ps is asked while the run is quiet
	sleepWait = 2 * time.Minute        // beyond --drain-sleep-after, before the run gives up
)

// sleepResult is what a sleep run measured.
type sleepResult struct {
	cfg     config
	logPath string
	groups  []*group
	live    string // the release live while the groups come back

	wakes, followUps []time.Duration // successful or not
	sent, failed     int
	failedBy         map[string]int
	flipped          int      // sessions answered by another release than their own
	problems         []string // the first failed and flipped requests, described
	sleeps, woken    map[string]int
	took             []time.Duration // slipway's own time of each wake, from its log
	notable          []string        // slipway log lines worth a look
	otherCPU         float64         // share of the CPUs other processes used during the cycles
}

// group is the sessions pinned to one release.
type group struct {
	release  string // "v3"
	version  string // what GET /VERSION answers in that release
	sessions []*pinned
	pids     []int // its instances when last seen awake
}

// pinned is one session: a cookie jar with slipway's affinity cookie.
// Only one goroutine at a time sends its requests.
type pinned struct {
	id      int
	cookie  string
	flipped bool
}

// sleepRun is a sleep run in progress.
type sleepRun struct {
	cfg    config
	client *http.Client
	url    string // GET /VERSION through the router
	host   string
	start  time.Time

	mu   sync.Mutex
	res  *sleepResult
	rows []string // requests.csv
}

// runSleep starts a fresh slipway in dir and does the sleep run.
func runSleep(ctx context.Context, cfg config, bin, dir string, out io.Writer) (res sleepResult, err error) {
	res.cfg = cfg
	res.failedBy, res.sleeps, res.woken = map[string]int{}, map[string]int{}, map[string]int{}
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "[sleep] %s\n", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(out, "sleep: %d releases of a %d-instance Python http.server app, %d sessions pinned to each, "+
		"%d cycles of quiet until every pool sleeps (--drain-sleep-after %s) and the sessions' return, %d follow-ups each\n",
		cfg.Releases, cfg.Instances, cfg.Sessions, cfg.Cycles, cfg.DrainSleepAfter, cfg.FollowUps)
	if busy := cpuBusy(ctx, time.Second); busy > 0.25 {
		fmt.Fprintf(out, "warning: the CPUs were %.0f%% busy before the run: other work on this machine will show up in the wakes\n", 100*busy)
	}
	res.logPath = filepath.Join(dir, "slipway.log")
	srv, home, key, err := setUp(ctx, dir, serverConfig{
		Bin: bin, SessionTTL: cfg.SessionTTL, DrainTimeout: cfg.DrainTimeout, MaxDraining: cfg.Releases + 1,
		DrainSleepAfter: cfg.DrainSleepAfter, Strategy: blueGreen, Started: cfg.started,
	})
	if err != nil {
		return res, err
	}
	defer srv.finish(&err)
	logf("slipway ready: ssh %s, http %s; log %s", srv.addr("ssh"), srv.addr("http"), res.logPath)
	r, err := newRepo(ctx, filepath.Join(dir, "app"), pythonAppFiles(cfg.Instances), home, key, srv.addr("ssh"))
	if err != nil {
		return res, err
	}
	sr := &sleepRun{
		cfg: cfg, res: &res, start: time.Now(),
		rows: []string{"cycle,phase,release,session,start_s,duration_ms,version,failure\n"},
		client: &http.Client{
			Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: cfg.Sessions, DisableCompression: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		url:  "http://" + srv.addr("http") + "/VERSION",
		host: appName + "." + domain,
	}
	defer sr.client.CloseIdleConnections()
	if err := sr.deploy(ctx, r, logf); err != nil {
		return res, err
	}

	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	others := watchOtherCPU(sampleCtx, time.Now())
	for cycle := 1; cycle <= cfg.Cycles; cycle++ {
		quiet := time.Now()
		if err := sr.awaitSleep(ctx, r, cycle); err != nil {
			return res, err
		}
		logf("cycle %d/%d: every pinned pool asleep, its processes gone, %.1fs after the last request", cycle, cfg.Cycles, time.Since(quiet).Seconds())
		for _, g := range res.groups {
			// A session back after a while opens a new connection.
			sr.client.CloseIdleConnections()
			n := len(res.wakes)
			sr.together(ctx, g, "wake", cycle, 1)
			wakes := slices.Sorted(slices.Values(res.wakes[n:]))
			sr.together(ctx, g, "follow-up", cycle, cfg.FollowUps)
			if err := ctx.Err(); err != nil {
				return res, err
			}
			logf("cycle %d/%d: %s woken by %d sessions at once: their first answers in %s to %s",
				cycle, cfg.Cycles, g.release, len(g.sessions), ms(wakes[0]), ms(wakes[len(wakes)-1]))
			if err := sr.notePIDs(ctx, r, g); err != nil {
				return res, err
			}
		}
	}
	stopSampling()
	res.otherCPU = others.fraction()

	for _, line := range srv.logLines(`msg="release sleeping"`, `msg="release woken"`) {
		if logField(line, "app") != appName {
			continue
		}
		release := logField(line, "release")
		if logField(line, "msg") == "release sleeping" {
			res.sleeps[release]++
			continue
		}
		res.woken[release]++
		if d, err := time.ParseDuration(logField(line, "took")); err == nil {
			res.took = append(res.took, d)
		}
	}
	res.notable = srv.logLines("level=WARN", "level=ERROR", `msg="release retir`)
	if err := os.WriteFile(filepath.Join(dir, "requests.csv"), []byte(strings.Join(sr.rows, "")), 0o644); err != nil {
		return res, err
	}
	logf("done: %d requests, %d failed, %d flipped sessions", res.sent, res.failed, res.flipped)
	return res, nil
}

// deploy pushes the app Releases times, pinning a group of sessions to
// each release while it is live, then once more: that release stays live
// and every pinned one drains.
func (sr *sleepRun) deploy(ctx context.Context, r *repo, logf func(string, ...any)) error {
	id := 0
	for i := range sr.cfg.Releases + 1 {
		if i > 0 {
			if err := r.commitNext(ctx); err != nil {
				return err
			}
		}
		t0 := time.Now()
		out, err := r.push(ctx, appName)
		if err != nil {
			return fmt.Errorf("deploy %d: %w", i+1, err)
		}
		release := deployedRelease(out)
		if i == 0 {
			if err := waitServing(ctx, sr.url, sr.host, 30*time.Second); err != nil {
				return err
			}
		}
		if i == sr.cfg.Releases {
			sr.res.live = release
			logf("%s live in %.2fs, with no session pinned to it: every pinned release drains", release, time.Since(t0).Seconds())
			return nil
		}
		g := &group{release: release, version: strconv.Itoa(r.version)}
		for range sr.cfg.Sessions {
			id++
			g.sessions = append(g.sessions, &pinned{id: id})
		}
		sr.res.groups = append(sr.res.groups, g)
		sr.together(ctx, g, "pin", 0, 1)
		unpinned := 0
		for _, s := range g.sessions {
			if s.cookie == "" {
				unpinned++
			}
		}
		if unpinned > 0 {
			return fmt.Errorf("%d sessions got no affinity cookie from %s", unpinned, release)
		}
		if err := sr.notePIDs(ctx, r, g); err != nil {
			return err
		}
		logf("%s live in %.2fs, %d sessions pinned to it", release, time.Since(t0).Seconds(), len(g.sessions))
	}
	return nil
}

// together sends n requests from every session of g, the sessions at
// once, each session's one after another.
func (sr *sleepRun) together(ctx context.Context, g *group, phase string, cycle, n int) {
	var wg sync.WaitGroup
	for _, s := range g.sessions {
		wg.Go(func() {
			for range n {
				sr.get(ctx, g, s, phase, cycle)
			}
		})
	}
	wg.Wait()
}

// get sends one request of session s, pinned to g's release, and records
// its time and whether it failed or came from another release.
func (sr *sleepRun) get(ctx context.Context, g *group, s *pinned, phase string, cycle int) {
	ctx, cancel := context.WithTimeout(ctx, sr.cfg.RequestTimeout)
	defer cancel()
	cookie := s.cookie
	start := time.Now()
	resp, body, err := fetch(ctx, sr.client, sr.url, sr.host, cookie)
	dur := time.Since(start)
	kind, got := "", ""
	switch {
	case err != nil:
		kind = errorKind(err)
	case resp.StatusCode != http.StatusOK:
		kind = "status " + resp.Status
	default:
		got = strings.TrimSpace(string(body))
	}
	if err == nil {
		if c := affinityCookie(resp); c != "" {
			s.cookie = c
		}
	}
	flipped := kind == "" && got != g.version

	sr.mu.Lock()
	defer sr.mu.Unlock()
	res := sr.res
	res.sent++
	switch phase {
	case "wake":
		res.wakes = append(res.wakes, dur)
	case "follow-up":
		res.followUps = append(res.followUps, dur)
	}
	sr.rows = append(sr.rows, fmt.Sprintf("%d,%s,%s,%d,%.6f,%.3f,%q,%q\n", cycle, phase, g.release, s.id,
		start.Sub(sr.start).Seconds(), float64(dur)/1e6, got, kind))
	const maxProblems = 20
	describe := func(what string) {
		if len(res.problems) < maxProblems {
			res.problems = append(res.problems, fmt.Sprintf("cycle %d %s: session %d of %s (cookie %s) %s after %s",
				cycle, phase, s.id, g.release, cookieRoute(cookie), what, ms(dur)))
		}
	}
	switch {
	case kind != "":
		res.failed++
		res.failedBy[kind]++
		detail := bodyText(body, 120)
		if err != nil {
			detail = err.Error()
		}
		describe(fmt.Sprintf("failed: %s: %s", kind, detail))
	case flipped:
		if !s.flipped {
			s.flipped = true
			res.flipped++
		}
		describe(fmt.Sprintf("answered by version %s, not its own %s", got, g.version))
	}
}

// notePIDs keeps the pids of g's instances, as ps lists them now.
func (sr *sleepRun) notePIDs(ctx context.Context, r *repo, g *group) error {
	out, err := r.ssh(ctx, "ps", appName)
	if err != nil {
		return err
	}
	pids, _ := parsePS(out)
	g.pids = pids[g.release]
	return nil
}

// awaitSleep sends no request until ps says every pinned release sleeps
// and the processes it had are gone.
func (sr *sleepRun) awaitSleep(ctx context.Context, r *repo, cycle int) error {
	deadline := time.Now().Add(sr.cfg.DrainSleepAfter + sleepWait)
	for {
		out, err := r.ssh(ctx, "ps", appName)
		last := ""
		if err != nil {
			last = err.Error()
		} else {
			pids, sleeping := parsePS(out)
			var awake []string
			for _, g := range sr.res.groups {
				if !sleeping[g.release] || len(pids[g.release]) > 0 || slices.ContainsFunc(g.pids, processAlive) {
					awake = append(awake, g.release)
				}
			}
			if len(awake) == 0 {
				return nil
			}
			last = "not asleep yet: " + strings.Join(awake, ", ") + "; ps says:\n" + out
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cycle %d: the pinned pools did not all sleep within %s of --drain-sleep-after %s: %s",
				cycle, sleepWait, sr.cfg.DrainSleepAfter, last)
		}
		if err := sleepUntil(ctx, time.Now().Add(psEvery)); err != nil {
			return err
		}
	}
}

var drainLineRE = regexp.MustCompile(`^(v\d+) drains since `)

// parsePS reads `ps APP`: the pids of each release's instances, and
// whether each draining release sleeps.
func parsePS(text string) (pids map[string][]int, sleeping map[string]bool) {
	pids, sleeping = map[string][]int{}, map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if m := drainLineRE.FindStringSubmatch(line); m != nil {
			sleeping[m[1]] = strings.Contains(line, "; sleeping since ")
			continue
		}
		// INSTANCE RELEASE (live|draining) STATE… PID PORT UPTIME RESTARTS
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[2], "(") {
			continue
		}
		if pid, err := strconv.Atoi(f[len(f)-4]); err == nil {
			pids[f[1]] = append(pids[f[1]], pid)
		}
	}
	return pids, sleeping
}

// misses returns the targets r misses: no failed request, no flipped
// session, every pinned pool asleep and woken each cycle, and the wake's
// p50 and p99.
func (r *sleepResult) misses() []string {
	var m []string
	if r.failed > 0 {
		m = append(m, fmt.Sprintf("%d failed", r.failed))
	}
	if r.flipped > 0 {
		m = append(m, fmt.Sprintf("%d flipped sessions", r.flipped))
	}
	for _, g := range r.groups {
		if r.sleeps[g.release] < r.cfg.Cycles || r.woken[g.release] < r.cfg.Cycles {
			m = append(m, fmt.Sprintf("%s slept %d and woke %d times, want %d each", g.release, r.sleeps[g.release], r.woken[g.release], r.cfg.Cycles))
		}
	}
	w := summarizeLatency(slices.Clone(r.wakes))
	switch {
	case w.n == 0:
		m = append(m, "no wake measured")
	case w.p50 > wakeP50Target:
		m = append(m, fmt.Sprintf("wake p50 %s > %s", ms(w.p50), ms(wakeP50Target)))
	}
	if w.n > 0 && w.p99 > wakeP99Target {
		m = append(m, fmt.Sprintf("wake p99 %s > %s", ms(w.p99), ms(wakeP99Target)))
	}
	return m
}

// write prints the table of the sleep run, its verdict, and what went
// wrong; kept says whether the work directory will stay.
func (r *sleepResult) write(out io.Writer, kept bool) {
	rows := [][]string{{"", "n", "p50", "p99", "max"}}
	row := func(name string, ds []time.Duration) {
		l := summarizeLatency(slices.Clone(ds))
		rows = append(rows, []string{name, fmt.Sprint(l.n), ms(l.p50), ms(l.p99), ms(slices.Max(append([]time.Duration{0}, ds...)))})
	}
	row("wake: a session's first request after its pool slept", r.wakes)
	row("follow-ups", r.followUps)
	row("slipway's own wake time (log took=)", r.took)
	fmt.Fprintln(out)
	writeTable(out, rows)
	fmt.Fprintln(out)
	failed := fmt.Sprint(r.failed)
	for _, k := range slices.Sorted(maps.Keys(r.failedBy)) {
		failed += fmt.Sprintf(", %d × %s", r.failedBy[k], k)
	}
	sessions := 0
	var counts []string
	sleeps, wakes := 0, 0
	for _, g := range r.groups {
		sessions += len(g.sessions)
		counts = append(counts, fmt.Sprintf("%s %d/%d", g.release, r.sleeps[g.release], r.woken[g.release]))
		sleeps += r.sleeps[g.release]
		wakes += r.woken[g.release]
	}
	fmt.Fprintf(out, "requests sent %d, failed %s, flipped sessions %d of %d; %s live throughout\n", r.sent, failed, r.flipped, sessions, r.live)
	fmt.Fprintf(out, "sleeps/wakes in slipway's log: %s (%d/%d in all, %d cycles)\n", strings.Join(counts, ", "), sleeps, wakes, r.cfg.Cycles)
	fmt.Fprintf(out, "CPU used by other processes during the cycles: %.1f%%\n", 100*r.otherCPU)
	w := summarizeLatency(slices.Clone(r.wakes))
	if m := r.misses(); len(m) > 0 {
		fmt.Fprintf(out, "verdict: the sleep run MISSES the targets: %s\n", strings.Join(m, ", "))
	} else {
		fmt.Fprintf(out, "verdict: the sleep run MEETS the targets: 0 failed, 0 flipped sessions, wake p50 %s ≤ %s, p99 %s ≤ %s\n",
			ms(w.p50), ms(wakeP50Target), ms(w.p99), ms(wakeP99Target))
	}
	if r.otherCPU > busyOthers {
		fmt.Fprintf(out, "note: other processes used %.1f%% of the CPUs: the wakes are not slipway's alone; rerun on a quiet machine\n", 100*r.otherCPU)
	}
	if len(r.misses()) == 0 && !kept {
		return
	}
	if kept {
		fmt.Fprintf(out, "\n[sleep] details (in %s: slipway.log, requests.csv)\n", filepath.Dir(r.logPath))
	} else {
		fmt.Fprintf(out, "\n[sleep] details (--keep keeps slipway's log and the raw numbers)\n")
	}
	for _, p := range r.problems {
		fmt.Fprintf(out, "  %s\n", p)
	}
	const maxLines = 12
	for i, line := range r.notable {
		if i == maxLines {
			fmt.Fprintf(out, "  … %d more log lines\n", len(r.notable)-maxLines)
			break
		}
		fmt.Fprintf(out, "  log: %s\n", line)
	}
}
