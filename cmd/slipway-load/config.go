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
	}
}

// parseFlags fills a config from args on top of the defaults.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("slipway-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Slipway, "slipway", "", "slipway binary to test (default: build ./cmd/slipway)")
	fs.StringVar(&c.Strategy, "strategy", c.Strategy, "deploy strategy: both, blue-green or stop-start")
	fs.IntVar(&c.Instances, "instances", c.Instances, "web instances of the app (app.json formation)")
	fs.IntVar(&c.Sessions, "sessions", c.Sessions, "concurrent client sessions, each with its own affinity cookie")
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
