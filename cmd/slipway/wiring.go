package main

// What serve wires beside its main sequence: the listeners' caps from the
// file limit, the certificates and pools the metrics read, the admin
// token.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/apps"
	"github.com/slipway/slipway/certs"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/internal/httpserver"
	"github.com/slipway/slipway/internal/secret"
	"github.com/slipway/slipway/metrics"
	"github.com/slipway/slipway/stats"
	"github.com/slipway/slipway/supervisor"
)

// caps are the bounds of the listeners, from the flags and the file limit.
type caps struct {
	router, admin *httpserver.ConnLimit
	ssh           gitserver.Limits
}

// fileLimit returns slipway's limit of open files: the hard one,
// to which the Go runtime raises the soft limit at start (and which the
// processes slipway starts do not inherit: they get the original soft
// limit back).
func fileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	return int(min(rl.Cur, 1<<20))
}

// listenerCaps derives the listeners' caps from the file limit, so that
// slipway keeps descriptors for its own work (deploys, the database, logs,
// the apps' log files) whatever floods one listener: a quarter of the
// limit (at most 1024) stays its own, the router may take three quarters
// of the rest, unauthenticated ssh connections an eighth, the admin page
// a few of its own.
func listenerCaps(cfg serveConfig, files int, logger *slog.Logger) caps {
	reserve := min(files/4, 1024)
	budget := files - reserve
	total := cfg.MaxConns
	if total <= 0 {
		total = max(budget*3/4, 16)
	}
	full, _ := parseStartups(cfg.SSHMaxStartups)
	full = min(full, max(budget/8, 4))
	c := caps{
		router: &httpserver.ConnLimit{Total: total, PerAddress: min(cfg.MaxConnsPerIP, total)},
		admin:  &httpserver.ConnLimit{Total: 64, PerNetwork: 16},
		ssh:    gitserver.Limits{LoginGrace: cfg.SSHLoginGrace, MaxStartups: full, PerNetwork: cfg.SSHMaxPerNetwork},
	}
	logger.Info("connection caps", "file_limit", files, "router", total, "router_per_address", c.router.PerAddress,
		"ssh_unauthenticated", full, "ssh_per_network", cfg.SSHMaxPerNetwork, "admin", c.admin.Total, "admin_per_network", c.admin.PerNetwork)
	return c
}

// tcpPorts returns the TCP ports the listeners listen on.
func tcpPorts(lns ...net.Listener) []int {
	var ports []int
	for _, ln := range lns {
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			ports = append(ports, a.Port)
		}
	}
	return ports
}

// authorizedKeysPath is the file of who may push: --authorized-keys, else
// DATA/authorized_keys.
func authorizedKeysPath(cfg serveConfig, layout slipway.Layout) string {
	if cfg.AuthorizedKeys != "" {
		return cfg.AuthorizedKeys
	}
	return layout.AuthorizedKeys()
}

// certsOf is the TLS edge for the application layer: none without an HTTPS
// listener.
func certsOf(m *certs.Manager, https bool) apps.Certs {
	if !https {
		return nil
	}
	return m
}

// poolSource reports the apps' pools, certificates and services to the
// metrics at scrape time.
type poolSource struct {
	svc   *apps.Service
	certs *certs.Manager
}

func (s *poolSource) Certificates() []metrics.CertExpiry {
	var out []metrics.CertExpiry
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, _ := s.svc.Apps(ctx)
	for _, a := range list {
		domains, err := s.svc.Domains(ctx, a.Name)
		if err != nil {
			continue
		}
		for _, st := range s.certs.Status(domains) {
			if st.Source != "" {
				out = append(out, metrics.CertExpiry{Domain: st.Domain, Source: st.Source, Expires: st.Expires})
			}
		}
	}
	return out
}

// Services reports the backing services of every kind.
func (s *poolSource) Services() []slipway.ServiceStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []slipway.ServiceStatus
	for _, kind := range slipway.ServiceKinds {
		list, _ := s.svc.Services(ctx, kind)
		out = append(out, list...)
	}
	return out
}

// Processes reports every app's running processes to the sampler of the
// admin page's charts, with the directories where their cgroups account
// for their memory and CPU.
func (s *poolSource) Processes() map[string][]stats.Process {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string][]stats.Process{}
	for _, a := range s.svc.Running() {
		procs, err := s.svc.Processes(ctx, a.Name)
		if err != nil {
			continue // gone since: forgotten
		}
		list := make([]stats.Process, 0, len(procs))
		for _, p := range procs {
			if p.State != slipway.StateUp && p.State != slipway.StateStarting {
				continue // its pid may name another process by now
			}
			memory, cpu := supervisor.CgroupDirs(p.Cgroup)
			typ, _, _ := strings.Cut(p.ID, ".")
			list = append(list, stats.Process{Type: typ, PID: p.PID, MemoryDir: memory, CPUDir: cpu})
		}
		out[a.Name] = list
	}
	return out
}

// statsRequests is the router's counters of an app, as the sampler reads
// them.
func statsRequests(m *metrics.Metrics) func(app string) (stats.Counters, bool) {
	return func(app string) (stats.Counters, bool) {
		r, ok := m.Requests(app)
		return stats.Counters(r), ok
	}
}

func (s *poolSource) Pools() []metrics.AppPools {
	var out []metrics.AppPools
	for _, a := range s.svc.Running() {
		p := metrics.AppPools{App: a.Name, Draining: len(a.Draining), LiveInstances: a.Instances, DrainingInstances: a.DrainingInstances}
		if a.Live > 0 {
			p.Live = 1
		}
		out = append(out, p)
	}
	return out
}

// minTokenLen is the shortest admin token slipway takes: guessing one
// must be hopeless even at the rate the sign-in throttle allows.
const minTokenLen = 32

// strongToken refuses a token shorter than minTokenLen.
func strongToken(from, token string) (string, error) {
	if len(token) < minTokenLen {
		return "", fmt.Errorf("%s is %d characters: give at least %d (openssl rand -hex 24 makes one), or none to have slipway generate one", from, len(token), minTokenLen)
	}
	return token, nil
}

// adminToken returns the admin token: the configured one, else the one
// kept in DATA/admin_token, else a new one, stored there and printed once
// in the log.
func adminToken(cfg serveConfig, layout slipway.Layout, logger *slog.Logger) (string, error) {
	if cfg.AdminToken != "" {
		return strongToken("--admin-token", cfg.AdminToken)
	}
	if cfg.AdminTokenFile != "" {
		data, err := os.ReadFile(cfg.AdminTokenFile)
		if err != nil {
			return "", fmt.Errorf("--admin-token-file: %w", err)
		}
		if token := strings.TrimSpace(string(data)); token != "" {
			return strongToken("--admin-token-file "+cfg.AdminTokenFile, token)
		}
		return "", fmt.Errorf("--admin-token-file %s is empty: put the token in it", cfg.AdminTokenFile)
	}
	token, created, err := secret.Token(layout.AdminToken())
	if created {
		logger.Info("admin token generated: log in to the admin page with it", "token", token, "stored_in", layout.AdminToken())
	}
	return token, err
}
