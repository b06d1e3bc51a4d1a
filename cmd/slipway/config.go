package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/appdisk"
	"github.com/slipway/slipway/apps"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/certs"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/internal/httpserver"
	"github.com/slipway/slipway/kube"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/stats"
	"github.com/slipway/slipway/web"
)

// Defaults of `slipway serve` that no package owns.
const (
	DefaultDataDir  = "./slipway-data"
	DefaultHTTPAddr = ":8080"
	DefaultDomain   = "localhost"
	// DefaultMaxImageSize bounds an image: its layers and config together.
	DefaultMaxImageSize = 4 << 30
)

// serveConfig is `slipway serve`'s configuration: every flag also reads an
// environment variable named SLIPWAY_ and the flag in upper case.
type serveConfig struct {
	DataDir         string
	SSHAddr         string
	HTTPAddr        string
	HTTPSAddr       string
	AdminAddr       string
	Domain          string
	AuthorizedKeys  string
	BuildTimeout    time.Duration
	DeployTimeout   time.Duration
	SessionTTL      time.Duration
	DrainTimeout    time.Duration
	MaxDraining     int
	DrainSleepAfter time.Duration
	DeployStrategy  string
	// Scheduler is where the apps run: SchedulerLocal (processes on this
	// host) or SchedulerKubernetes (a cluster, see kube.go).
	Scheduler    string
	Kubeconfig   string
	Namespace    string
	KubeRegistry string
	HTTPServer   string // "lean" (internal/h1) or "net/http", for plain HTTP
	// UpstreamTransport is "lean", the only value left: the flag is kept
	// so that scripts that pass it still start.
	UpstreamTransport string
	AdminToken        string
	AdminTokenFile    string
	PruneSchedule     string
	KeepReleases      int
	UIDBase           int
	UIDRegistry       string
	AppDisk           int64 // bytes of each new app's own filesystem, 0 for none
	LogFormat         string
	ACMEEmail         string
	ACMEDirectory     string
	ACMECA            string
	TrustedProxies    []netip.Prefix
	MaxHeaderBytes    int
	MaxHeaderLine     int
	MaxConns          int // the router's open connections at most; 0: from the file limit
	MaxConnsPerIP     int
	BodyTimeout       time.Duration
	SSHLoginGrace     time.Duration
	SSHMaxStartups    string // a number, or OpenSSH's begin:rate:full
	SSHMaxPerNetwork  int
	MaxPushSize       int64
	MaxTreeFiles      int
	MaxTreeBytes      int64
	// RegistryAddr is where slipway's image registry listens; "" for
	// nowhere (the releases' images are still kept, in DATA/registry).
	RegistryAddr string
	MaxImageSize int64
	// Stack is the base image of every release's image ("" for none: the
	// release layer alone).
	Stack string
	// StatsEvery is how often each app is sampled for the admin page's
	// charts, which show the last stats.Samples samples.
	StatsEvery time.Duration
}

// parseServeFlags fills a serveConfig from args, falling back to the
// environment, then to the defaults.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	var envErr error // a bad value in the environment, reported after the flags
	fs := flag.NewFlagSet("slipway serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, def, help string) {
		if v := getenv(envName(name)); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, help+" (env "+envName(name)+")")
	}
	// secretStr is str for a secret: its value from the environment is
	// never shown as the default in --help.
	secretStr := func(p *string, name, help string) {
		fs.StringVar(p, name, "", help+" (env "+envName(name)+")")
		*p = getenv(envName(name))
	}
	dur := func(p *time.Duration, name string, def time.Duration, help string) {
		fs.Func(name, fmt.Sprintf("%s (default %s, env %s)", help, def, envName(name)), func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a duration such as 90s or 10m")
			}
			*p = d
			return nil
		})
		*p = def
		if v := getenv(envName(name)); v != "" {
			if err := fs.Set(name, v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(name), v, err)
			}
		}
	}
	str(&c.DataDir, "data", DefaultDataDir, "directory for everything slipway keeps")
	str(&c.SSHAddr, "ssh-addr", gitserver.DefaultAddr, "SSH git endpoint address")
	str(&c.HTTPAddr, "http-addr", DefaultHTTPAddr, "address of the router that serves the apps")
	str(&c.HTTPSAddr, "https-addr", "", "address of the router's HTTPS listener (HTTP/2 and HTTP/1.1), e.g. :443; none when empty")
	str(&c.ACMEEmail, "acme-email", "", "contact of the ACME account: with it every domain an app owns gets a certificate automatically")
	str(&c.ACMEDirectory, "acme-directory", certs.LetsEncrypt, "directory URL of the ACME server")
	str(&c.ACMECA, "acme-ca", "", "PEM file of a CA to trust for the ACME server itself (a private or test ACME server)")
	var trusted string
	str(&trusted, "trusted-proxies", "", "comma-separated addresses or CIDRs of proxies in front of slipway whose X-Forwarded-For, -Proto and -Host are kept (e.g. 10.0.0.0/8)")
	str(&c.AdminAddr, "admin-addr", web.DefaultAddr, "address of the admin page and JSON API")
	str(&c.Domain, "domain", DefaultDomain, "app NAME is served for Host NAME.DOMAIN")
	str(&c.AuthorizedKeys, "authorized-keys", "", "OpenSSH authorized_keys file of who may push (default DATA/authorized_keys)")
	str(&c.LogFormat, "log-format", "text", "log format: text or json")
	dur(&c.BuildTimeout, "build-timeout", builder.DefaultTimeout, "time limit of one build")
	dur(&c.DeployTimeout, "deploy-timeout", releaser.DefaultDeployTimeout, "time limit for a new release to start and pass its health checks")
	dur(&c.SessionTTL, "session-ttl", releaser.DefaultSessionTTL, "a draining release is retired once its sessions have been idle this long")
	size := func(p *int64, name string, def int64, help string) {
		fs.Func(name, fmt.Sprintf("%s (default %s, env %s)", help, slipway.FormatBytes(def), envName(name)), func(s string) error {
			n, err := slipway.ParseBytes(s)
			if err != nil {
				return fmt.Errorf("want a size such as 512M or 1G")
			}
			*p = n
			return nil
		})
		*p = def
		if v := getenv(envName(name)); v != "" {
			if err := fs.Set(name, v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(name), v, err)
			}
		}
	}
	size(&c.MaxPushSize, "max-push-size", gitserver.DefaultMaxPushSize, "the largest pack a push may send; a bigger one is refused while it arrives")
	size(&c.MaxImageSize, "max-image-size", DefaultMaxImageSize, "the largest image slipway's registry, images:import and a Dockerfile build accept")
	str(&c.Scheduler, "scheduler", SchedulerLocal, "where the apps run: local (processes on this host) or kubernetes (a Deployment per release on a cluster; see docs/kubernetes.md)")
	str(&c.Kubeconfig, "kubeconfig", "", "with --scheduler kubernetes: the cluster's kubeconfig file; the cluster slipway runs in when empty")
	str(&c.Namespace, "namespace", kube.DefaultNamespace, "with --scheduler kubernetes: the namespace of every object slipway makes (it must exist)")
	str(&c.KubeRegistry, "kube-registry", "", "with --scheduler kubernetes: HOST:PORT of slipway's registry as the cluster's nodes reach it; --registry-addr when empty")
	str(&c.RegistryAddr, "registry-addr", "", "address of slipway's image registry (the OCI distribution API; docker login HOST -u slipway -p ADMIN-TOKEN), e.g. 127.0.0.1:5000; TLS with the router's certificates when not on loopback; none when empty")
	str(&c.Stack, "stack", "", "base image of every release's image, like Heroku's stack (an image in slipway's registry, e.g. debian:bookworm imported with images:import); none when empty: the release layer alone")
	size(&c.MaxTreeBytes, "max-tree-bytes", builder.DefaultMaxTreeBytes, "the most file content a pushed tree may hold once exported")
	dur(&c.BodyTimeout, "body-timeout", 60*time.Second, "a request whose body stops arriving for this long ends with 408")
	dur(&c.SSHLoginGrace, "ssh-login-grace", 30*time.Second, "an ssh connection that has not authenticated after this long is closed (OpenSSH's LoginGraceTime)")
	str(&c.SSHMaxStartups, "ssh-max-startups", "100", "ssh connections not logged in at most, in all: beyond, the oldest of the network holding the most is closed (OpenSSH's MaxStartups; its BEGIN:RATE:FULL form is taken as FULL)")
	dur(&c.DrainTimeout, "drain-timeout", releaser.DefaultDrainTimeout, "a draining release is retired after this long whatever its sessions do")
	dur(&c.StatsEvery, "stats-every", stats.DefaultEvery, fmt.Sprintf("how often slipway samples each app's requests, latency, memory and CPU for the admin page's charts, which show the last %d samples (an hour at the default)", stats.Samples))
	dur(&c.DrainSleepAfter, "drain-sleep-after", releaser.DefaultDrainSleepAfter, "a draining release that no request reached for this long sleeps: its processes stop, and the next request pinned to it wakes it (0: never)")
	str(&c.HTTPServer, "http-server", "lean", "what serves plain HTTP: lean (slipway's HTTP/1.1 server, less CPU a request and no buffers held by idle connections) or net/http (Go's)")
	str(&c.UpstreamTransport, "upstream-transport", "lean", "what carries requests to the apps: lean, the router's own transport, the only one (net/http was removed: see docs)")
	str(&c.DeployStrategy, "deploy-strategy", releaser.StrategyBlueGreen, "blue-green, or stop-start (the naive deploy, only for comparison with the load tool)")
	secretStr(&c.AdminToken, "admin-token", "token for the admin page and API; every local user can read a flag's value, prefer --admin-token-file or the environment (default: generated on first start, kept in DATA/admin_token)")
	str(&c.AdminTokenFile, "admin-token-file", "", "file holding the token for the admin page and API")
	str(&c.PruneSchedule, "prune-schedule", "@hourly", "cron schedule of the job that removes old release directories")
	// num is a whole-number flag from least on, with its environment
	// variable; a bad value there is an error at once.
	num := func(p *int, name string, def, least int, help string) error {
		fs.Func(name, fmt.Sprintf("%s (default %d, env %s)", help, def, envName(name)), func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil || n < least {
				return fmt.Errorf("want a whole number of at least %d", least)
			}
			*p = n
			return nil
		})
		v := strconv.Itoa(def)
		if e := getenv(envName(name)); e != "" {
			v = e
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("%s=%q: %v", envName(name), v, err)
		}
		return nil
	}
	if err := num(&c.KeepReleases, "keep-releases", apps.DefaultKeepReleases, 1, "release directories kept per app"); err != nil {
		return c, err
	}
	if err := num(&c.MaxDraining, "max-draining", releaser.DefaultMaxDraining, 1, "draining releases kept per app at most: beyond, the oldest is retired and its sessions move to the live release"); err != nil {
		return c, err
	}
	if err := num(&c.MaxHeaderBytes, "max-header-bytes", httpserver.DefaultMaxHeaderBytes, 1024, "the router's limit on a request's line and headers in all, in bytes (431 beyond)"); err != nil {
		return c, err
	}
	if err := num(&c.MaxHeaderLine, "max-header-line", httpserver.DefaultMaxHeaderLine, 256, "the router's limit on the request line and each header line, in bytes (414 or 431 beyond)"); err != nil {
		return c, err
	}
	if err := num(&c.MaxConns, "max-conns", 0, 0, "the router's open connections at most, HTTP and HTTPS together (0: three quarters of what the file limit leaves after slipway's own)"); err != nil {
		return c, err
	}
	if err := num(&c.MaxConnsPerIP, "max-conns-per-address", 256, 1, "the router's open connections from one client address at most"); err != nil {
		return c, err
	}
	if err := num(&c.MaxTreeFiles, "max-tree-files", builder.DefaultMaxTreeFiles, 1, "the most files and directories a pushed tree may have"); err != nil {
		return c, err
	}
	if err := num(&c.SSHMaxPerNetwork, "ssh-max-per-network", 10, 1, "ssh connections not logged in from one network (a /24 of IPv4, a /64 of IPv6) at most: beyond, its oldest is closed"); err != nil {
		return c, err
	}
	// The flag's name before connections were counted by network.
	fs.Func("ssh-max-per-address", "the old name of --ssh-max-per-network (env SLIPWAY_SSH_MAX_PER_ADDRESS)", func(s string) error {
		return fs.Set("ssh-max-per-network", s)
	})
	if v := getenv("SLIPWAY_SSH_MAX_PER_ADDRESS"); v != "" && getenv("SLIPWAY_SSH_MAX_PER_NETWORK") == "" {
		if err := fs.Set("ssh-max-per-network", v); err != nil {
			return c, fmt.Errorf("SLIPWAY_SSH_MAX_PER_ADDRESS=%q: %v", v, err)
		}
	}
	if err := num(&c.UIDBase, "uid-base", 0, 0, fmt.Sprintf("as root: the first of the %d uids this data dir gives its apps (each app gets its own, never reused); 0: the first range from %d that no other data dir has in --uid-registry", apps.UIDsPerDataDir, apps.DefaultUIDBase)); err != nil {
		return c, err
	}
	appDisk := func(s string) error {
		if s == "0" || s == "off" {
			c.AppDisk = 0
			return nil
		}
		n, err := slipway.ParseBytes(s)
		if err != nil || n < appdisk.MinSize {
			return fmt.Errorf("want a size of at least 16M such as 1G, or 0 for none")
		}
		c.AppDisk = n
		return nil
	}
	fs.Func("app-disk", fmt.Sprintf("as root: the size of the filesystem of its own each new app gets, holding its HOME, TMPDIRs, build cache, releases and logs, preallocated in DATA/disks; 0: apps write on the data dir's filesystem (default %s, env %s)", slipway.FormatBytes(appdisk.DefaultSize), envName("app-disk")), appDisk)
	c.AppDisk = appdisk.DefaultSize
	if v := getenv(envName("app-disk")); v != "" {
		if err := appDisk(v); err != nil {
			return c, fmt.Errorf("%s=%q: %v", envName("app-disk"), v, err)
		}
	}
	str(&c.UIDRegistry, "uid-registry", apps.DefaultUIDRegistry, "as root: the host's file of which data dir has which uids, shared by every slipway of the host")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if envErr != nil {
		return c, envErr
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: slipway serve takes only flags", fs.Arg(0))
	}
	for _, w := range strings.FieldsFunc(trusted, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(w)
		if err != nil {
			a, aerr := netip.ParseAddr(w)
			if aerr != nil {
				return c, fmt.Errorf("--trusted-proxies %q: give addresses or CIDRs, like 10.0.0.0/8,192.0.2.1", w)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if _, err := parseStartups(c.SSHMaxStartups); err != nil {
		return c, err
	}
	if c.UIDBase != 0 && c.UIDBase < 100000 {
		return c, fmt.Errorf("--uid-base %d: want a whole number of at least 100000, or leave it out to take a free range", c.UIDBase)
	}
	if c.ACMEEmail != "" && c.HTTPSAddr == "" {
		return c, fmt.Errorf("--acme-email needs an HTTPS listener: give --https-addr (e.g. :443)")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("--log-format %q: use text or json", c.LogFormat)
	}
	if c.HTTPServer != "lean" && c.HTTPServer != "net/http" {
		return c, fmt.Errorf("--http-server %q: use lean or net/http", c.HTTPServer)
	}
	if c.UpstreamTransport != "lean" {
		return c, fmt.Errorf("--upstream-transport %q: only lean is left (the router has one proxy path); drop the flag", c.UpstreamTransport)
	}
	if c.Scheduler != SchedulerLocal && c.Scheduler != SchedulerKubernetes {
		return c, fmt.Errorf("--scheduler %q: use %s or %s", c.Scheduler, SchedulerLocal, SchedulerKubernetes)
	}
	if c.DeployStrategy != releaser.StrategyBlueGreen && c.DeployStrategy != releaser.StrategyStopStart {
		return c, fmt.Errorf("--deploy-strategy %q: use %s or %s", c.DeployStrategy, releaser.StrategyBlueGreen, releaser.StrategyStopStart)
	}
	if _, err := cron.ParseStandard(c.PruneSchedule); err != nil {
		return c, fmt.Errorf("--prune-schedule %q: %v (use a cron spec such as \"0 * * * *\" or @hourly)", c.PruneSchedule, err)
	}
	c.Domain = strings.ToLower(strings.Trim(c.Domain, "."))
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, err
	}
	c.DataDir = abs
	if c.AuthorizedKeys == "" {
		c.AuthorizedKeys = filepath.Join(c.DataDir, "authorized_keys")
	}
	return c, nil
}

// envName maps a flag name to its environment variable: ssh-addr → SLIPWAY_SSH_ADDR.
func envName(flag string) string {
	return "SLIPWAY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// parseStartups reads --ssh-max-startups: a number, or OpenSSH's
// BEGIN:RATE:FULL, of which FULL is the cap (slipway drops nothing at
// random: a flood displaces its own network's oldest connections).
func parseStartups(s string) (full int, err error) {
	parts := strings.Split(s, ":")
	bad := fmt.Errorf("--ssh-max-startups %q: give the most connections not logged in, like 100 (or OpenSSH's BEGIN:RATE:FULL, like 10:30:100)", s)
	if len(parts) != 1 && len(parts) != 3 {
		return 0, bad
	}
	var n [3]int
	for i, p := range parts {
		if n[i], err = strconv.Atoi(p); err != nil || n[i] < 1 {
			return 0, bad
		}
	}
	if len(parts) == 1 {
		return n[0], nil
	}
	if n[1] > 100 || n[0] > n[2] {
		return 0, bad
	}
	return n[2], nil
}
