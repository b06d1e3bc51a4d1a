package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Defaults of the load tool's flags.
const (
	DefaultStrategy        = "both"
	DefaultInstances       = 3
	DefaultSessions        = 200
	DefaultSessionRequests = 100
	DefaultRate            = 2000
	DefaultMaxInFlight     = 512
	DefaultWarmup          = 5 * time.Second
	DefaultDeploys         = 10
	DefaultInterval        = 3 * time.Second
	DefaultCooldown        = 3 * time.Second
	DefaultSessionTTL      = 10 * time.Second
	DefaultDrainTimeout    = 10 * time.Minute
	DefaultRequestTimeout  = 10 * time.Second
)

// Modes of the tool: a load with deploys under it, or pinned sessions
// whose draining pools sleep and wake (see sleep.go).
const (
	modeLoad  = "load"
	modeSleep = "sleep"
)

// Defaults of --mode sleep, where they differ from a load's.
const (
	DefaultReleases        = 5
	DefaultCycles          = 3
	DefaultSleepSessions   = 10 // per release
	DefaultFollowUps       = 5
	DefaultDrainSleepAfter = 2 * time.Second
	// The pins must outlive every quiet spell: a pool no request reached
	// for the session TTL is retired, not put to sleep.
	DefaultSleepSessionTTL = 10 * time.Minute
)

// loadOnly are the flags that mean nothing to --mode sleep.
var loadOnly = []string{"session-requests", "rate", "max-in-flight", "warmup", "deploys", "interval", "cooldown", "control", "action", "activation"}

// Deploy strategies, as `slipway serve --deploy-strategy` spells them.
const (
	blueGreen = "blue-green"
	stopStart = "stop-start"
)

// config is one run of the tool.
type config struct {
	Slipway         string        // slipway binary; built from this module when empty
	App             string        // the test app's binary; built from appSource when empty
	Strategy        string        // "both", blueGreen or stopStart
	Instances       int           // web instances of the app
	Sessions        int           // concurrent client sessions
	SessionRequests int           // requests after which a session ends and a new one starts
	Rate            float64       // requests per second, over all sessions
	MaxInFlight     int           // requests in flight at most; more are late
	Warmup          time.Duration // steady load before the first deploy
	Deploys         int           // deploys under load
	Interval        time.Duration // from one deploy's start to the next one's
	Cooldown        time.Duration // load after the last deploy
	SessionTTL      time.Duration // slipway serve --session-ttl
	DrainTimeout    time.Duration // slipway serve --drain-timeout
	RequestTimeout  time.Duration // per request
	Dir             string        // work directory; a new temp dir, removed on success, when empty
	Keep            bool          // keep the work directory even on success
	Control         bool          // deploy another app, so the loaded one never switches
	Action          string        // what each "deploy" is: push, config, scale, restart, upgrade or kill9
	Activation      bool          // pass slipway listening sockets the tool holds (systemd's socket activation)

	// --mode sleep: Sessions are pinned to each of Releases releases, and
	// Cycles times every pool sleeps and each session comes back for
	// 1+FollowUps requests.
	Mode            string        // modeLoad or modeSleep
	Releases        int           // releases with sessions pinned to them
	Cycles          int           // quiet spells, each followed by the wakes
	FollowUps       int           // requests of a session after the one that waits for the wake
	DrainSleepAfter time.Duration // slipway serve --drain-sleep-after; 0: slipway's default

	// started, when non-nil, is called with every long-running process
	// the tool starts (slipway), so that a test can make sure it ends.
	started func(*os.Process)
}

// defaultConfig returns the configuration of `slipway-load` without flags.
func defaultConfig() config {
	return config{
		Strategy:        DefaultStrategy,
		Instances:       DefaultInstances,
		Sessions:        DefaultSessions,
		SessionRequests: DefaultSessionRequests,
		Rate:            DefaultRate,
		MaxInFlight:     DefaultMaxInFlight,
		Warmup:          DefaultWarmup,
		Deploys:         DefaultDeploys,
		Action:          "push",
		Interval:        DefaultInterval,
		Cooldown:        DefaultCooldown,
		SessionTTL:      DefaultSessionTTL,
		DrainTimeout:    DefaultDrainTimeout,
		RequestTimeout:  DefaultRequestTimeout,
		Mode:            modeLoad,
		Releases:        DefaultReleases,
		Cycles:          DefaultCycles,
		FollowUps:       DefaultFollowUps,
	}
}

// defaultSleepConfig returns the configuration of `slipway-load --mode
// sleep` without other flags.
func defaultSleepConfig() config {
	c := defaultConfig()
	c.Mode = modeSleep
	c.Strategy = blueGreen
	c.Sessions = DefaultSleepSessions
	c.SessionTTL = DefaultSleepSessionTTL
	c.DrainSleepAfter = DefaultDrainSleepAfter
	return c
}

// parseFlags fills a config from args on top of the defaults.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("slipway-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Slipway, "slipway", "", "slipway binary to test (default: build ./cmd/slipway)")
	fs.StringVar(&c.Mode, "mode", c.Mode, "load: deploys under a steady load; sleep: sessions pinned to --releases releases, whose draining pools sleep and wake --cycles times, each wake timed (defaults then: --sessions 10 per release, --session-ttl 10m, --drain-sleep-after 2s, --strategy blue-green)")
	fs.IntVar(&c.Releases, "releases", c.Releases, "--mode sleep: releases with sessions pinned to them; one more is deployed after them, live, so that every pinned one drains")
	fs.IntVar(&c.Cycles, "cycles", c.Cycles, "--mode sleep: how many times every pinned pool is let sleep and then woken by its sessions")
	fs.IntVar(&c.FollowUps, "follow-ups", c.FollowUps, "--mode sleep: requests each session sends after the one that waited for the wake")
	fs.DurationVar(&c.DrainSleepAfter, "drain-sleep-after", c.DrainSleepAfter, "slipway serve --drain-sleep-after (default: slipway's own, or 2s with --mode sleep)")
	fs.StringVar(&c.Strategy, "strategy", c.Strategy, "deploy strategy: both, blue-green or stop-start")
	fs.IntVar(&c.Instances, "instances", c.Instances, "web instances of the app (app.json formation)")
	fs.IntVar(&c.Sessions, "sessions", c.Sessions, "concurrent client sessions, each with its own affinity cookie (--mode sleep: sessions pinned to each release)")
	fs.IntVar(&c.SessionRequests, "session-requests", c.SessionRequests, "requests after which a session ends and a new one (without cookie) replaces it")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "requests per second over all sessions (open loop)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", c.MaxInFlight, "requests in flight at most; a request due when the limit is reached is counted late and not sent")
	fs.DurationVar(&c.Warmup, "warmup", c.Warmup, "steady load before the first deploy")
	fs.IntVar(&c.Deploys, "deploys", c.Deploys, "deploys under load")
	fs.DurationVar(&c.Interval, "interval", c.Interval, "time from the start of one deploy to the start of the next")
	fs.DurationVar(&c.Cooldown, "cooldown", c.Cooldown, "load after the last deploy")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "slipway serve --session-ttl")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "slipway serve --drain-timeout")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "time limit of one request")
	fs.StringVar(&c.Dir, "dir", "", "work directory (default: a new temp dir, removed unless the run fails)")
	fs.StringVar(&c.Action, "action", "push", "what each deploy under load is: push (a new commit), config (config:set, a config release), scale (ps:scale web=N+1, then back), restart (ps:restart), upgrade (SIGHUP: slipway upgrades in place) or kill9 (kill -9 of slipway, then slipway serve again); upgrade and kill9 first push a second release so that a live and a draining pool serve")
	fs.BoolVar(&c.Activation, "activation", false, "hold slipway's listening sockets in the tool and pass them to it (LISTEN_FDS), as systemd's slipway-*.socket units does: with --action kill9, connections wait for the new slipway instead of being refused")
	fs.BoolVar(&c.Control, "control", false, "control run: deploy a second app with the same code instead of the loaded one, to tell the cost of the switch from the CPU a deploy takes")
	fs.BoolVar(&c.Keep, "keep", false, "keep the work directory (slipway's data and log) even when the run passes")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: slipway-load takes only flags", fs.Arg(0))
	}
	if c.Mode == modeSleep {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, name := range loadOnly {
			if set[name] {
				return c, fmt.Errorf("--%s does not apply to --mode sleep", name)
			}
		}
		d := defaultSleepConfig()
		if !set["strategy"] {
			c.Strategy = d.Strategy
		}
		if !set["sessions"] {
			c.Sessions = d.Sessions
		}
		if !set["session-ttl"] {
			c.SessionTTL = d.SessionTTL
		}
		if !set["drain-sleep-after"] {
			c.DrainSleepAfter = d.DrainSleepAfter
		}
	}
	return c, c.validate()
}

// validate reports the first setting that cannot work.
func (c config) validate() error {
	switch {
	case c.Strategy != "both" && c.Strategy != blueGreen && c.Strategy != stopStart:
		return fmt.Errorf("--strategy %q: use both, %s or %s", c.Strategy, blueGreen, stopStart)
	case c.Instances < 1:
		return fmt.Errorf("--instances must be at least 1")
	case c.Sessions < 1 || c.SessionRequests < 1:
		return fmt.Errorf("--sessions and --session-requests must be at least 1")
	case c.Rate <= 0:
		return fmt.Errorf("--rate must be positive")
	case !slices.Contains([]string{"push", "config", "scale", "restart", "upgrade", "kill9"}, c.Action):
		return fmt.Errorf("--action %q: use push, config, scale, restart, upgrade or kill9", c.Action)
	case c.Action != "push" && c.Control:
		return fmt.Errorf("--control only goes with --action push")
	case c.MaxInFlight < 1:
		return fmt.Errorf("--max-in-flight must be at least 1")
	case c.Deploys < 0 || c.Warmup < 0 || c.Interval < 0 || c.Cooldown < 0:
		return fmt.Errorf("--deploys, --warmup, --interval and --cooldown cannot be negative")
	case c.SessionTTL <= 0 || c.DrainTimeout <= 0 || c.RequestTimeout <= 0:
		return fmt.Errorf("--session-ttl, --drain-timeout and --request-timeout must be positive")
	case c.Mode != modeLoad && c.Mode != modeSleep:
		return fmt.Errorf("--mode %q: use %s or %s", c.Mode, modeLoad, modeSleep)
	case c.DrainSleepAfter < 0:
		return fmt.Errorf("--drain-sleep-after cannot be negative")
	}
	if c.Mode == modeSleep {
		switch {
		case c.Strategy == stopStart:
			return fmt.Errorf("--mode sleep: a %s deploy leaves no draining pool to sleep", stopStart)
		case c.Releases < 1 || c.Cycles < 1:
			return fmt.Errorf("--releases and --cycles must be at least 1")
		case c.FollowUps < 0:
			return fmt.Errorf("--follow-ups cannot be negative")
		case c.DrainSleepAfter == 0:
			return fmt.Errorf("--mode sleep needs a --drain-sleep-after")
		case c.SessionTTL <= 2*c.DrainSleepAfter:
			return fmt.Errorf("--session-ttl %s must be well above --drain-sleep-after %s: a pool idle for the session TTL is retired, not put to sleep", c.SessionTTL, c.DrainSleepAfter)
		}
	}
	return nil
}

// strategies returns the strategies to run, in order.
func (c config) strategies() []string {
	if c.Strategy == "both" {
		return []string{blueGreen, stopStart}
	}
	return []string{c.Strategy}
}
