package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway/appdisk"
	"github.com/slipway/slipway/internal/testutil"
)

// domain is what slipway serves the app under: Host loadapp.load.test.
const domain = "load.test"

// run builds what it needs and runs the load for each strategy of cfg,
// or the sleep run of --mode sleep, writing progress and the final table
// to out.
func run(ctx context.Context, cfg config, out io.Writer) (rep report, err error) {
	if err := cfg.validate(); err != nil {
		return rep, err
	}
	rep.cfg = cfg
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "slipway-load-"); err != nil {
			return rep, err
		}
		// slipway as root runs apps as users of their own, who must
		// pass through to the data dir inside.
		if err := os.Chmod(dir, 0o711); err != nil {
			return rep, err
		}
		defer func() {
			// The apps' users are the host's, kept dir or not.
			testutil.RemoveUsersUnder(dir)
			if err == nil && rep.pass() && !cfg.Keep {
				removeAll(dir)
			} else {
				fmt.Fprintf(out, "work directory kept: %s\n", dir)
			}
		}()
	}
	bin := cfg.Slipway
	if bin == "" {
		fmt.Fprintln(out, "building slipway …")
		if bin, err = buildSlipway(ctx, dir); err != nil {
			return rep, err
		}
	}
	if cfg.Mode == modeSleep {
		res, err := runSleep(ctx, cfg, bin, filepath.Join(dir, modeSleep), out)
		if err != nil {
			return rep, fmt.Errorf("sleep: %w", err)
		}
		rep.sleep = &res
		res.write(out, !rep.pass() || cfg.Keep || cfg.Dir != "")
		return rep, nil
	}
	appBin := cfg.App
	if appBin == "" {
		if appBin, err = buildApp(ctx, dir); err != nil {
			return rep, err
		}
	}
	fmt.Fprintf(out, "load: %.0f req/s open loop over %d sessions of %d requests, %d instances, "+
		"%d deploys %s apart after %s warmup, %s cooldown, session TTL %s\n",
		cfg.Rate, cfg.Sessions, cfg.SessionRequests, cfg.Instances, cfg.Deploys, cfg.Interval, cfg.Warmup, cfg.Cooldown, cfg.SessionTTL)
	for _, strategy := range cfg.strategies() {
		if busy := cpuBusy(ctx, time.Second); busy > 0.25 {
			fmt.Fprintf(out, "warning: the CPUs were %.0f%% busy before the %s run: other work on this machine will show up in the latencies\n",
				100*busy, strategy)
		}
		res, err := runStrategy(ctx, cfg, strategy, bin, appBin, filepath.Join(dir, strategy), out)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", strategy, err)
		}
		rep.results = append(rep.results, res)
	}
	rep.write(out, !rep.pass() || cfg.Keep || cfg.Dir != "")
	return rep, nil
}

// runStrategy starts a fresh slipway with the given deploy strategy in
// dir, deploys the app, and runs warmup, deploys and cooldown under load.
func runStrategy(ctx context.Context, cfg config, strategy, bin, appBin, dir string, out io.Writer) (res result, err error) {
	res.strategy, res.control, res.action = strategy, cfg.Control, cfg.Action
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "[%s] %s\n", res.name(), fmt.Sprintf(format, args...))
	}
	res.logPath = filepath.Join(dir, "slipway.log")
	srv, home, key, err := setUp(ctx, dir, serverConfig{
		Bin: bin, SessionTTL: cfg.SessionTTL, DrainTimeout: cfg.DrainTimeout, MaxDraining: cfg.Deploys + 1, Strategy: strategy, Started: cfg.started,
		Activation: cfg.Activation,
	})
	if err != nil {
		return res, err
	}
	defer srv.finish(&err)
	logf("slipway ready: ssh %s, http %s, admin %s; log %s", srv.addr("ssh"), srv.addr("http"), srv.addr("admin"), res.logPath)

	files, err := goAppFiles(appBin, cfg.Instances)
	if err != nil {
		return res, err
	}
	r, err := newRepo(ctx, filepath.Join(dir, "app"), files, home, key, srv.addr("ssh"))
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if _, err := r.push(ctx, appName); err != nil {
		return res, fmt.Errorf("first deploy: %w", err)
	}
	logf("first deploy live in %.2fs", time.Since(t0).Seconds())
	target := appName
	if cfg.Control {
		// The deploys go to another app running the same code: they cost
		// the machine what real ones do, but the loaded app never switches.
		target = controlApp
		if _, err := r.push(ctx, target); err != nil {
			return res, fmt.Errorf("first deploy of the control app: %w", err)
		}
		logf("control run: the deploys go to app %s, not to the loaded app %s", controlApp, appName)
	}
	url := "http://" + srv.addr("http") + "/"
	host := appName + "." + domain
	if err := waitServing(ctx, url, host, 30*time.Second); err != nil {
		return res, err
	}

	gen := newGenerator(loadConfig{
		URL: url, Host: host, Sessions: cfg.Sessions, SessionRequests: cfg.SessionRequests,
		Rate: cfg.Rate, MaxInFlight: cfg.MaxInFlight, RequestTimeout: cfg.RequestTimeout,
	})
	stopLoad := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		gen.run(ctx, stopLoad)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(stopLoad)
			<-loadDone
		}
	}
	defer stop()
	loadStart := time.Now()
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	others := watchOtherCPU(sampleCtx, loadStart)
	logf("load running; warmup %s", cfg.Warmup)
	restarts := cfg.Action == "upgrade" || cfg.Action == "kill9"
	var pidsBefore []string
	if restarts {
		// A second release, so that the restarts find a live pool and a
		// draining one serving the sessions pinned to the first.
		if err := sleepUntil(ctx, loadStart.Add(cfg.Warmup/2)); err != nil {
			return res, err
		}
		if err := r.commitNext(ctx); err != nil {
			return res, err
		}
		if _, err := r.push(ctx, appName); err != nil {
			return res, fmt.Errorf("second deploy: %w", err)
		}
		pidsBefore = appPIDs(appBin)
		logf("second release live; %d app processes, the first release draining", len(pidsBefore))
	}
	act := func(ctx context.Context, i int) (string, error) {
		switch cfg.Action {
		case "upgrade", "kill9":
			var took time.Duration
			var err error
			if cfg.Action == "upgrade" {
				took, err = srv.upgrade(ctx)
			} else {
				took, err = srv.kill9(ctx)
			}
			res.readyTimes = append(res.readyTimes, took)
			return fmt.Sprintf("pid %d", srv.servingPID()), err
		}
		return r.act(ctx, cfg, target, i)
	}
	if res.pushes, err = deployUnderLoad(ctx, cfg, r, act, loadStart, logf); err != nil {
		return res, err
	}
	if restarts {
		res.pidsChecked = true
		res.pidsKept = slices.Equal(appPIDs(appBin), pidsBefore)
	}
	stop()
	stopSampling()

	records, failures, flips, lag := gen.results()
	res.summarize(records, lag, loadStart)
	res.otherCPU = others.fraction()
	for i := range res.timeline {
		res.timeline[i].otherCPU = others.second(i)
	}
	res.failures, res.flips = failures, flips
	res.late = gen.late.Load()
	res.sessions = gen.started.Load()
	res.flipped = gen.flipped.Load()
	// slipway's log is complete about the switches by now.
	res.liveAt = srv.releaseLiveTimes(target)
	res.maxDraining = srv.maxDraining(appName)
	res.notable = srv.logLines("level=WARN", "level=ERROR", `msg="release retir`, `msg="router: app removed"`)
	// Raw numbers for a closer look, beside slipway's log.
	err = errors.Join(res.writeTimeline(), res.writePushes(loadStart),
		writeRequests(filepath.Join(dir, "requests.csv"), records, loadStart))
	if err != nil {
		return res, err
	}
	logf("load stopped: %d requests, %d failed, %d flipped sessions, at most %d draining pools",
		res.sent, res.failed, res.flipped, res.maxDraining)
	return res, nil
}

// setUp starts slipway in dir, as sc says but for its data dir, HOME, log
// (dir/slipway.log) and domain, which it fills in, and a key that may
// push to it. It returns the server, HOME and the private key's path.
func setUp(ctx context.Context, dir string, sc serverConfig) (srv *server, home, key string, err error) {
	home = filepath.Join(dir, "home")
	data := filepath.Join(dir, "data")
	for _, d := range []string{home, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", "", err
		}
	}
	if key, err = newKey(ctx, home); err != nil {
		return nil, "", "", err
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return nil, "", "", err
	}
	if err := os.WriteFile(filepath.Join(data, "authorized_keys"), pub, 0o600); err != nil {
		return nil, "", "", err
	}
	sc.DataDir, sc.Home, sc.LogPath, sc.Domain = data, home, filepath.Join(dir, "slipway.log"), domain
	srv, err = startServer(ctx, sc)
	return srv, home, key, err
}

// deployUnderLoad pushes cfg.Deploys new versions, cfg.Interval apart
// from loadStart+cfg.Warmup on, then waits out the cooldown. A failed push
// is recorded, not returned: only Ctrl-C stops the deploys.
func deployUnderLoad(ctx context.Context, cfg config, r *repo, act func(context.Context, int) (string, error), loadStart time.Time, logf func(string, ...any)) ([]push, error) {
	var pushes []push
	for i := range cfg.Deploys {
		if err := sleepUntil(ctx, loadStart.Add(cfg.Warmup+time.Duration(i)*cfg.Interval)); err != nil {
			return pushes, err
		}
		p := push{start: time.Now()}
		out, err := act(ctx, i)
		p.version = r.version
		p.end = time.Now()
		p.release = deployedRelease(out)
		if strings.HasPrefix(out, "pid ") {
			p.release = out // a restart of slipway: the process serving now
		}
		if ctx.Err() != nil {
			return pushes, ctx.Err()
		}
		if err != nil {
			p.err = err.Error()
			logf("deploy %d/%d FAILED after %.2fs: %v", i+1, cfg.Deploys, p.end.Sub(p.start).Seconds(), err)
		} else {
			logf("deploy %d/%d: %s live, push took %.2fs", i+1, cfg.Deploys, p.release, p.end.Sub(p.start).Seconds())
		}
		pushes = append(pushes, p)
	}
	end := time.Now().Add(cfg.Cooldown)
	if cfg.Deploys == 0 {
		end = loadStart.Add(cfg.Warmup + cfg.Cooldown)
	}
	return pushes, sleepUntil(ctx, end)
}

// act performs deploy number i of cfg.Action on app: a push of a new
// commit, a config change (a config release), a scale change (web goes to
// one more instance and back) or a rolling restart.
func (r *repo) act(ctx context.Context, cfg config, app string, i int) (string, error) {
	switch cfg.Action {
	case "config":
		return r.ssh(ctx, "config:set", app, fmt.Sprintf("LOAD_ROUND=%d", i+1))
	case "scale":
		n := cfg.Instances + 1 - i%2
		return r.ssh(ctx, "ps:scale", app, fmt.Sprintf("web=%d", n))
	case "restart":
		return r.ssh(ctx, "ps:restart", app)
	}
	if err := r.commitNext(ctx); err != nil {
		return "", err
	}
	return r.push(ctx, app)
}

// appPIDs returns the pids of the processes that run bin, sorted.
func appPIDs(bin string) []string {
	var pids []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), bin) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	slices.Sort(pids)
	return pids
}

// waitServing polls the app through the router until it answers 200.
func waitServing(ctx context.Context, url, host string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	last := ""
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("app not serving through the router after the first deploy (last answer: %s)", last)
		case <-t.C:
		}
	}
}

// sleepUntil waits until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// cpuBusy returns the fraction of CPU time all CPUs spent busy during
// the next period, or 0 where there is no /proc/stat.
func cpuBusy(ctx context.Context, period time.Duration) float64 {
	busy0, total0, ok := cpuTimes()
	if !ok || sleepUntil(ctx, time.Now().Add(period)) != nil {
		return 0
	}
	busy1, total1, ok := cpuTimes()
	if !ok || total1 <= total0 {
		return 0
	}
	return float64(busy1-busy0) / float64(total1-total0)
}

// cpuTimes reads the busy and total jiffies of all CPUs from /proc/stat.
func cpuTimes() (busy, total uint64, ok bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, f := range fields[1:] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, true
}

// removeAll removes dir, first detaching the apps' disks mounted in it
// and making the read-only release directories slipway leaves in it
// writable.
func removeAll(dir string) error {
	appdisk.DetachUnder(dir)
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o755)
		}
		return nil
	})
	err := os.RemoveAll(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
