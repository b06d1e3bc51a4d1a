package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	Ns         []int
	Rate       float64
	Duration   time.Duration // of the load on each side, each round
	Rounds     int
	Slice      time.Duration
	Conns      int
	PushConc   int
	Settle     time.Duration // after the pushes, before the idle window
	Idle       time.Duration // the idle window
	App        string
	Slipway    string
	Keep       bool
	Timeout    time.Duration
	AnswerWait time.Duration
	Profile    string // a directory for CPU profiles
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("density", flag.ContinueOnError)
	ns := fs.String("n", "10,50,100", "numbers of apps, comma-separated: one fresh slipway each")
	fs.Float64Var(&c.Rate, "rate", 500, "router load: requests a second in all, open loop, spread evenly over the apps")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "router load: how long each side (N apps, one app) is loaded each round")
	fs.IntVar(&c.Rounds, "rounds", 3, "router load: rounds")
	fs.DurationVar(&c.Slice, "slice", 20*time.Millisecond, "router load: the two sides take turns this long each")
	fs.IntVar(&c.Conns, "conns", 32, "router load: keep-alive connections to each slipway")
	fs.IntVar(&c.PushConc, "push-concurrency", 4, "apps 1 … N-1 are pushed this many at once (the Nth alone)")
	fs.DurationVar(&c.Settle, "settle", 5*time.Second, "wait after the pushes before measuring idle")
	fs.DurationVar(&c.Idle, "idle", 10*time.Second, "idle window: slipway's CPU is measured over it")
	fs.StringVar(&c.App, "app", "keepalive", "the app: keepalive (Python http.server, HTTP/1.1, no request log) or http.server (python3 -m http.server)")
	fs.StringVar(&c.Slipway, "slipway", "", "slipway executable (default: build this module's cmd/slipway)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the work directory (slipway's logs, the data dirs)")
	fs.DurationVar(&c.Timeout, "timeout", 60*time.Minute, "the whole run at most")
	fs.DurationVar(&c.AnswerWait, "answer-wait", 2*time.Minute, "how long every app may take to answer after a push, a restart or an upgrade")
	fs.StringVar(&c.Profile, "profile", "", "a directory: the slipway started after the kill -9 writes a CPU profile of itself there (nN-after-kill9.pprof), from its start, through adopting every app, until it stops")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 999 {
			return c, fmt.Errorf("-n: want numbers of apps from 1 to 999, comma-separated, not %q", s)
		}
		c.Ns = append(c.Ns, n)
	}
	if c.Profile != "" {
		var err error
		if c.Profile, err = filepath.Abs(c.Profile); err != nil {
			return c, err
		}
		if err := os.MkdirAll(c.Profile, 0o755); err != nil {
			return c, fmt.Errorf("-profile: %w", err)
		}
	}
	if _, ok := procfiles[c.App]; !ok {
		return c, fmt.Errorf("-app: keepalive or http.server, not %q", c.App)
	}
	if c.Rate <= 0 || c.Duration <= 0 || c.Rounds < 1 || c.Slice <= 0 || c.Conns < 1 || c.PushConc < 1 {
		return c, errors.New("-rate, -duration, -rounds, -slice, -conns and -push-concurrency must be above 0")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "density: %v\n", err)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "density: run it as root: slipway gives each app a user and cgroup of its own only then, as on a real host")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	err = run(ctx, cfg, os.Stdout)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "density: %v\n", err)
		os.Exit(1)
	}
}

// run measures every N of cfg against one baseline slipway serving one
// app, and prints the table.
func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	work, err := os.MkdirTemp("", "slipway-density-")
	if err != nil {
		return err
	}
	// The apps' users must pass through to the data dirs inside.
	if err := os.Chmod(work, 0o711); err != nil {
		return err
	}
	defer func() {
		if cfg.Keep || err != nil {
			fmt.Fprintf(out, "work directory kept: %s\n", work)
			return
		}
		if rerr := removeAll(work); rerr != nil {
			fmt.Fprintf(out, "remove %s: %v\n", work, rerr)
		}
	}()
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	bin := cfg.Slipway
	if bin == "" {
		fmt.Fprintln(out, "building slipway …")
		bin = filepath.Join(work, "slipway")
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		o, err := exec.CommandContext(bctx, "go", "build", "-o", bin, "github.com/slipway/slipway/cmd/slipway").CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("build slipway: %v\n%s", err, o)
		}
	}
	key := filepath.Join(home, "id_ed25519")
	kctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	o, err := exec.CommandContext(kctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "density", "-f", key).CombinedOutput()
	cancel()
	if err != nil {
		return fmt.Errorf("ssh-keygen: %v\n%s", err, o)
	}
	r, err := newRepo(ctx, filepath.Join(work, "app"), home, key, cfg.App)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "work directory %s; app: %s; load %.0f req/s for %s a side × %d rounds, %s slices, %d connections\n",
		work, strings.TrimSpace(procfiles[cfg.App]), cfg.Rate, cfg.Duration, cfg.Rounds, cfg.Slice, cfg.Conns)

	// The baseline: a slipway serving one app, loaded in turn with each N.
	base, err := newSite(ctx, work, "base", bin, home, key)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, base.close(ctx, out)) }()
	if err := r.push(ctx, base.srv.addr("ssh"), "app001"); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if _, err := allAnswer(ctx, base.srv.addr("http"), []string{"app001"}, cfg.AnswerWait); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	var rows []row
	for _, n := range cfg.Ns {
		row, err := measure(ctx, cfg, work, bin, home, key, r, base, n, out)
		if err != nil {
			return fmt.Errorf("with %d apps: %w", n, err)
		}
		rows = append(rows, row)
		fmt.Fprintln(out)
		writeTable(out, rows)
		fmt.Fprintln(out)
	}
	return nil
}

// site is one slipway with its own data dir, private HOME and log.
type site struct {
	dir, data string
	srv       *server
}

// newSite starts a slipway on a fresh data dir in work/name that lets
// key push.
func newSite(ctx context.Context, work, name, bin, home, key string) (*site, error) {
	s := &site{dir: filepath.Join(work, name)}
	s.data = filepath.Join(s.dir, "data")
	if err := os.MkdirAll(s.data, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(s.dir, 0o711); err != nil {
		return nil, err
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(s.data, "authorized_keys"), pub, 0o600); err != nil {
		return nil, err
	}
	s.srv, err = startServer(ctx, bin, s.data, home, filepath.Join(s.dir, "slipway.log"))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// close stops the site's slipway with SIGTERM, checks what it left on the
// host, cleans that up and removes the apps' users.
func (s *site) close(ctx context.Context, out io.Writer) error {
	err := s.srv.stop()
	left := leftovers(context.WithoutCancel(ctx), s.data)
	users := cleanUp(context.WithoutCancel(ctx), s.data, s.dir)
	if len(left) == 0 {
		fmt.Fprintf(out, "%s: slipway stopped (SIGTERM), nothing of it left (no app process, cgroup or iptables chain); %d app users removed\n", s.dir, users)
	} else {
		fmt.Fprintf(out, "%s: slipway stopped, but it left %s: removed; %d app users removed\n", s.dir, strings.Join(left, ", "), users)
	}
	if after := leftovers(context.WithoutCancel(ctx), s.data); len(after) > 0 || usersUnder(s.dir) > 0 {
		err = errors.Join(err, fmt.Errorf("%s: still left after cleaning up: %s, %d users", s.dir, strings.Join(after, ", "), usersUnder(s.dir)))
	}
	return err
}
