package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// row is what one N measured.
type row struct {
	n int

	pushConc int
	pushRest time.Duration // apps 1 … N-1, pushConc at once
	pushLast time.Duration // the Nth app alone: git push until it answers

	idle      idleStats // slipway after the pushes
	idleAfter idleStats // the slipway started after the kill -9, which adopted every app

	appProcs int
	appPSSKB int64 // all app processes

	listCLI, listSSH time.Duration // medians

	p50N, p99N, p50One, p99One float64 // ms, all rounds pooled
	roundRatios                []float64
	failedN, failedOne         int

	upgrade, kill9 restart
}

// idleStats is slipway at idle.
type idleStats struct {
	rssKB, anonKB, fileKB int64
	threads               int64
	cpu                   float64 // fraction of one CPU
	machineBusy           float64 // all CPUs
}

// restart is how a slipway took its apps back after a kill -9 or an
// upgrade.
type restart struct {
	ready, all   time.Duration // until the new slipway was ready, and until every app answered
	kept         bool          // every app process kept its pid
	pools, procs int           // "release live again" lines and the processes they adopted
}

// measure runs one N on a fresh slipway.
func measure(ctx context.Context, cfg config, work, bin, home, key string, r *repo, base *site, n int, out io.Writer) (rw row, err error) {
	rw.n, rw.pushConc = n, cfg.PushConc
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "[N=%d %s] %s\n", n, time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	name := fmt.Sprintf("n%d", n)
	s, err := newSite(ctx, work, name, bin, home, key)
	if err != nil {
		return rw, err
	}
	defer func() {
		if cerr := s.close(ctx, out); cerr != nil && err == nil {
			err = cerr
		}
	}()
	srv := s.srv
	sshAddr, httpAddr := srv.addr("ssh"), srv.addr("http")
	logf("slipway pid %d ready: ssh %s, http %s; log %s", srv.servingPID(), sshAddr, httpAddr, srv.logPath)
	apps := appNames(n)

	t0 := time.Now()
	if err := pushAll(ctx, r, sshAddr, apps[:n-1], cfg.PushConc); err != nil {
		return rw, err
	}
	rw.pushRest = time.Since(t0)
	if _, err := allAnswer(ctx, httpAddr, apps[:n-1], cfg.AnswerWait); err != nil {
		return rw, err
	}
	logf("apps 1 … %d pushed, %d at once, in %.1fs; all answer", n-1, cfg.PushConc, rw.pushRest.Seconds())
	t0 = time.Now()
	if err := r.push(ctx, sshAddr, apps[n-1]); err != nil {
		return rw, err
	}
	last, err := allAnswer(ctx, httpAddr, apps[n-1:], cfg.AnswerWait)
	if err != nil {
		return rw, err
	}
	rw.pushLast = last.Sub(t0)
	logf("app %d pushed and answering in %.2fs", n, rw.pushLast.Seconds())

	if rw.idle, err = measureIdle(ctx, cfg, srv.servingPID()); err != nil {
		return rw, err
	}
	pids := appPIDs(s.data)
	rw.appProcs = len(pids)
	for _, p := range pids {
		rw.appPSSKB += pss(p)
	}
	logf("idle: %s; %d app processes, PSS %.1f MiB in all, %.2f MiB an app",
		rw.idle, rw.appProcs, mib(rw.appPSSKB), mib(rw.appPSSKB)/float64(n))

	// apps:list.
	if rw.listCLI, err = appsList(ctx, n, 5, func(ctx context.Context) (string, error) {
		cmd := exec.CommandContext(ctx, bin, "apps:list")
		cmd.Env = []string{"HOME=" + home, "PATH=" + sysPath, "SLIPWAY_DATA=" + s.data}
		o, err := cmd.CombinedOutput()
		return string(o), err
	}); err != nil {
		return rw, fmt.Errorf("slipway apps:list: %w", err)
	}
	if rw.listSSH, err = appsList(ctx, n, 5, func(ctx context.Context) (string, error) {
		return r.ssh(ctx, sshAddr, "apps:list")
	}); err != nil {
		return rw, fmt.Errorf("ssh apps:list: %w", err)
	}
	logf("apps:list: %s through the local CLI, %s over ssh (medians of 5)", rw.listCLI.Round(time.Millisecond), rw.listSSH.Round(time.Millisecond))

	// The router: N apps against one, in turns, after a second of each
	// that is not counted (the connections to the router and the router's
	// to every app are opened then).
	targets := []target{{httpAddr, apps}, {base.srv.addr("http"), []string{"app001"}}}
	openLoop(targets, cfg.Rate, time.Second, cfg.Slice, cfg.Conns)
	var lN, lOne latencies
	for i := range cfg.Rounds {
		res := openLoop(targets, cfg.Rate, cfg.Duration, cfg.Slice, cfg.Conns)
		if err := ctx.Err(); err != nil {
			return rw, err
		}
		ratio := res[0].p(0.99) / res[1].p(0.99)
		rw.roundRatios = append(rw.roundRatios, ratio)
		logf("router round %d: %d apps p50 %.2f p99 %.2f ms (%d failed of %d); one app p50 %.2f p99 %.2f ms (%d failed of %d); p99 ratio %.2f",
			i+1, n, res[0].p(0.5), res[0].p(0.99), res[0].failed, len(res[0].lat),
			res[1].p(0.5), res[1].p(0.99), res[1].failed, len(res[1].lat), ratio)
		lN.lat, lN.failed = append(lN.lat, res[0].lat...), lN.failed+res[0].failed
		lOne.lat, lOne.failed = append(lOne.lat, res[1].lat...), lOne.failed+res[1].failed
	}
	rw.p50N, rw.p99N, rw.p50One, rw.p99One = lN.p(0.5), lN.p(0.99), lOne.p(0.5), lOne.p(0.99)
	rw.failedN, rw.failedOne = lN.failed, lOne.failed

	// Upgrade in place.
	before := appPIDs(s.data)
	mark := len(srv.logLines(`msg="release live again"`))
	old := srv.servingPID()
	sent, ready, done, err := srv.upgrade(ctx)
	if err != nil {
		return rw, fmt.Errorf("upgrade: %w", err)
	}
	if last, err = allAnswer(ctx, httpAddr, apps, cfg.AnswerWait); err != nil {
		return rw, fmt.Errorf("after the upgrade: %w", err)
	}
	rw.upgrade.ready, rw.upgrade.all = ready, last.Sub(sent)
	if err := done(); err != nil {
		return rw, err
	}
	rw.upgrade.kept = slices.Equal(before, appPIDs(s.data))
	rw.upgrade.pools, rw.upgrade.procs = adopted(srv.logLines(`msg="release live again"`)[mark:])
	logf("SIGHUP to pid %d, new slipway pid %d: ready %.3fs after the signal, every app answering (new connections) %.3fs after; app pids the same: %v; log: %d \"release live again\" lines, %d processes adopted",
		old, srv.servingPID(), ready.Seconds(), rw.upgrade.all.Seconds(), rw.upgrade.kept, rw.upgrade.pools, rw.upgrade.procs)

	// kill -9 and a new slipway.
	if cfg.Profile != "" {
		srv.env = []string{"SLIPWAY_CPUPROFILE=" + filepath.Join(cfg.Profile, name+"-after-kill9.pprof")}
	}
	before = appPIDs(s.data)
	mark = len(srv.logLines(`msg="release live again"`))
	started, ready, err := srv.kill9(ctx)
	if err != nil {
		return rw, fmt.Errorf("kill -9: %w", err)
	}
	if last, err = allAnswer(ctx, httpAddr, apps, cfg.AnswerWait); err != nil {
		return rw, fmt.Errorf("after kill -9: %w", err)
	}
	rw.kill9.ready, rw.kill9.all = ready, last.Sub(started)
	rw.kill9.kept = slices.Equal(before, appPIDs(s.data))
	rw.kill9.pools, rw.kill9.procs = adopted(srv.logLines(`msg="release live again"`)[mark:])
	logf("kill -9, new slipway pid %d: ready %.3fs after its start, every app answering %.3fs after; %d app pids before, same after: %v; log: %d \"release live again\" lines, %d processes adopted",
		srv.servingPID(), ready.Seconds(), rw.kill9.all.Seconds(), len(before), rw.kill9.kept, rw.kill9.pools, rw.kill9.procs)

	if rw.idleAfter, err = measureIdle(ctx, cfg, srv.servingPID()); err != nil {
		return rw, err
	}
	logf("idle after adopting every app: %s", rw.idleAfter)
	return rw, nil
}

// measureIdle waits cfg.Settle, then measures slipway pid's CPU over
// cfg.Idle and its memory and threads at the end.
func measureIdle(ctx context.Context, cfg config, pid int) (st idleStats, err error) {
	if err := sleep(ctx, cfg.Settle); err != nil {
		return st, err
	}
	var cpu [2]time.Duration
	var busy, total [2]uint64
	for i := range 2 {
		if i == 1 {
			if err := sleep(ctx, cfg.Idle); err != nil {
				return st, err
			}
		}
		if cpu[i], err = cpuTime(pid); err != nil {
			return st, err
		}
		busy[i], total[i] = cpuTimes()
	}
	st.cpu = float64(cpu[1]-cpu[0]) / float64(cfg.Idle)
	if total[1] > total[0] {
		st.machineBusy = float64(busy[1]-busy[0]) / float64(total[1]-total[0])
	}
	m := status(pid)
	st.rssKB, st.anonKB, st.fileKB, st.threads = m["VmRSS"], m["RssAnon"], m["RssFile"], m["Threads"]
	return st, nil
}

func (st idleStats) String() string {
	return fmt.Sprintf("slipway RSS %.1f MiB (anon %.1f, file %.1f), %d threads, CPU %.2f%% of a core (all CPUs %.0f%% busy meanwhile, load %s)",
		mib(st.rssKB), mib(st.anonKB), mib(st.fileKB), st.threads, 100*st.cpu, 100*st.machineBusy, loadAvg())
}

// appsList runs list times times and returns the median time; the output
// must name all n apps.
func appsList(ctx context.Context, n, times int, list func(context.Context) (string, error)) (time.Duration, error) {
	var ds []time.Duration
	for range times {
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		t0 := time.Now()
		o, err := list(lctx)
		d := time.Since(t0)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("%v: %s", err, lastLines(o, 4))
		}
		if got := strings.Count(o, "app"+fmt.Sprintf("%03d", n)); got == 0 {
			return 0, fmt.Errorf("its output does not name app%03d: %s", n, lastLines(o, 4))
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// adopted counts slipway's "release live again" lines and the processes
// they say were adopted.
func adopted(lines []string) (pools, procs int) {
	for _, l := range lines {
		pools++
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "adopted="); ok {
				n, _ := strconv.Atoi(v)
				procs += n
			}
		}
	}
	return pools, procs
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

// writeTable prints the rows as a Markdown table, one column an N.
func writeTable(out io.Writer, rows []row) {
	head := "| |"
	sep := "|---|"
	for _, r := range rows {
		head += fmt.Sprintf(" N=%d |", r.n)
		sep += "---|"
	}
	fmt.Fprintln(out, head)
	fmt.Fprintln(out, sep)
	line := func(name string, f func(r row) string) {
		s := "| " + name + " |"
		for _, r := range rows {
			s += " " + f(r) + " |"
		}
		fmt.Fprintln(out, s)
	}
	rss := func(st idleStats) string {
		return fmt.Sprintf("%.1f MiB (%.1f + %.1f)", mib(st.rssKB), mib(st.anonKB), mib(st.fileKB))
	}
	line("slipway RSS at idle after the pushes (anon + file)", func(r row) string { return rss(r.idle) })
	line("slipway RSS at idle after adopting them (kill -9, restart)", func(r row) string { return rss(r.idleAfter) })
	line("slipway CPU at idle: after the pushes / after adopting", func(r row) string {
		return fmt.Sprintf("%.1f%% / %.1f%% of a core", 100*r.idle.cpu, 100*r.idleAfter.cpu)
	})
	line("slipway threads: after the pushes / after adopting", func(r row) string {
		return fmt.Sprintf("%d / %d", r.idle.threads, r.idleAfter.threads)
	})
	line("app processes; their PSS in all", func(r row) string {
		return fmt.Sprintf("%d; %.0f MiB", r.appProcs, mib(r.appPSSKB))
	})
	line("PSS per app", func(r row) string { return fmt.Sprintf("%.2f MiB", mib(r.appPSSKB)/float64(r.n)) })
	line("push of apps 1…N-1, a few at once", func(r row) string {
		return fmt.Sprintf("%.1f s (%d at once)", r.pushRest.Seconds(), r.pushConc)
	})
	line("push of the Nth app, until it answers", func(r row) string { return fmt.Sprintf("%.2f s", r.pushLast.Seconds()) })
	line("apps:list, local CLI / ssh", func(r row) string {
		return fmt.Sprintf("%d / %d ms", r.listCLI.Milliseconds(), r.listSSH.Milliseconds())
	})
	line("router p99: N apps / one app (p50)", func(r row) string {
		return fmt.Sprintf("%.2f / %.2f ms (%.2f / %.2f)", r.p99N, r.p99One, r.p50N, r.p50One)
	})
	line("router p99 ratio, pooled (rounds)", func(r row) string {
		var rs []string
		for _, x := range r.roundRatios {
			rs = append(rs, fmt.Sprintf("%.2f", x))
		}
		return fmt.Sprintf("**%.2f** (%s)", r.p99N/r.p99One, strings.Join(rs, ", "))
	})
	line("failed requests: N apps / one app", func(r row) string { return fmt.Sprintf("%d / %d", r.failedN, r.failedOne) })
	line("kill -9, new slipway: ready / every app answering", func(r row) string {
		return fmt.Sprintf("%.2f / **%.2f s**", r.kill9.ready.Seconds(), r.kill9.all.Seconds())
	})
	line("upgrade (SIGHUP): new slipway ready / every app answering", func(r row) string {
		return fmt.Sprintf("%.2f / %.2f s", r.upgrade.ready.Seconds(), r.upgrade.all.Seconds())
	})
	line("app pids kept; processes adopted (log): kill -9 / upgrade", func(r row) string {
		return fmt.Sprintf("%s, %d / %s, %d", yes(r.kill9.kept), r.kill9.procs, yes(r.upgrade.kept), r.upgrade.procs)
	})
	line("all CPUs busy during the idle windows", func(r row) string {
		return fmt.Sprintf("%.0f%%, %.0f%%", 100*r.idle.machineBusy, 100*r.idleAfter.machineBusy)
	})
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
