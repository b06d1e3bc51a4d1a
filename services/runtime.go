package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// Runtime keeps the services' server processes running: started or
// adopted, supervised with backoff, recorded for the slipway that adopts
// them, and stopped each the way its server wants. Callers hold the
// service's lock (package apps), so one service is never started twice.
type Runtime struct {
	cfg RuntimeConfig

	mu      sync.Mutex
	servers map[string]*server // by service name
}

// RuntimeConfig configures a Runtime.
type RuntimeConfig struct {
	// Record hears where each service's server process runs now (after a
	// start, a restart or an adoption), and a zero ServiceProcess once it
	// is stopped: the history keeps it for the next slipway.
	Record func(name string, p slipway.ServiceProcess)
	// StartTimeout bounds a start until the server accepts its password.
	StartTimeout time.Duration
	// StopGrace is how long a server has to stop cleanly before SIGKILL.
	StopGrace time.Duration
	Logger    *slog.Logger
}

// server is one running service.
type server struct {
	sup  *supervisor.Supervised
	kind slipway.ServiceKind
}

// NewRuntime returns a Runtime running no service.
func NewRuntime(cfg RuntimeConfig) *Runtime {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = time.Minute
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Record == nil {
		cfg.Record = func(string, slipway.ServiceProcess) {}
	}
	return &Runtime{cfg: cfg, servers: map[string]*server{}}
}

// Start starts svc's server and returns once it accepts the service's
// password, or with an error that quotes the end of its log.
func (rt *Runtime) Start(ctx context.Context, h Host, svc *slipway.BackingService) error {
	srv, err := For(svc.Kind)
	if err != nil {
		return err
	}
	spec, err := h.Spec(srv, svc)
	if err != nil {
		return err
	}
	if rt.running(svc.Name) {
		return nil
	}
	p, err := supervisor.Start(spec)
	if err != nil {
		return fmt.Errorf("start the server of %s: %w", svc.Name, err)
	}
	if err := rt.ready(ctx, srv, svc, p); err != nil {
		p.Stop(rt.cfg.StopGrace)
		return err
	}
	rt.supervise(srv, svc, spec, p)
	return nil
}

// ready waits until p, svc's server, accepts its password.
func (rt *Runtime) ready(ctx context.Context, srv Server, svc *slipway.BackingService, p *supervisor.Process) error {
	ctx, cancel := context.WithTimeout(ctx, rt.cfg.StartTimeout)
	defer cancel()
	var last error
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if last = srv.Ready(ctx, svc); last == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return rt.failed(svc, p, "exited while starting: "+p.ExitText())
		case <-ctx.Done():
			return rt.failed(svc, p, fmt.Sprintf("did not accept connections within %s (%v)", rt.cfg.StartTimeout, last))
		case <-tick.C:
		}
	}
}

// failed is the error of a server that did not start, with the last lines
// of its log.
func (rt *Runtime) failed(svc *slipway.BackingService, p *supervisor.Process, what string) error {
	msg := fmt.Sprintf("the %s server of %s %s", svc.Kind, svc.Name, what)
	if tail := p.LogTail(3); len(tail) > 0 {
		msg += "; its log ends: " + slipway.OneLine(strings.Join(tail, " | "), 300)
	}
	return slipway.Errorf(slipway.EINVALID, "%s", msg)
}

// Adopt takes back svc's server process as an earlier slipway recorded
// it, when it still runs; false when it does not (start it then).
func (rt *Runtime) Adopt(h Host, svc *slipway.BackingService) bool {
	if svc.Running.PID == 0 || rt.running(svc.Name) {
		return rt.running(svc.Name)
	}
	srv, err := For(svc.Kind)
	if err != nil {
		return false
	}
	spec, err := h.Spec(srv, svc)
	if err != nil {
		return false
	}
	r := svc.Running
	p, err := supervisor.Adopt(spec, supervisor.Running{PID: r.PID, StartTicks: r.StartTicks, Cgroup: r.Cgroup, TmpDir: r.TmpDir, LogOffset: -1})
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.ready(ctx, srv, svc, p); err != nil {
		rt.cfg.Logger.Warn("an adopted service's server does not answer: restarting it", "service", svc.Name, "err", err)
		p.Stop(rt.cfg.StopGrace)
		return false
	}
	rt.supervise(srv, svc, spec, p)
	return true
}

// supervise keeps p, svc's ready server, running.
func (rt *Runtime) supervise(srv Server, svc *slipway.BackingService, spec supervisor.Spec, p *supervisor.Process) {
	name := svc.Name
	log := rt.cfg.Logger.With("service", name)
	s := &server{kind: svc.Kind}
	copySvc := *svc
	s.sup = supervisor.Supervise(p, func() (*supervisor.Process, error) { return supervisor.Start(spec) }, supervisor.Hooks{
		Check: func(ctx context.Context, p *supervisor.Process) error {
			return rt.ready(ctx, srv, &copySvc, p)
		},
		CheckTimeout: rt.cfg.StartTimeout,
		Up:           func() { rt.record(name, s.sup.Current()) },
		StopGrace:    rt.cfg.StopGrace,
		Logger:       log,
	})
	rt.mu.Lock()
	rt.servers[name] = s
	rt.mu.Unlock()
	rt.record(name, p)
	log.Info("service running", "kind", svc.Kind, "pid", p.PID(), "port", svc.Port)
}

// record tells the history where name's server runs.
func (rt *Runtime) record(name string, p *supervisor.Process) {
	r := p.Running()
	rt.cfg.Record(name, slipway.ServiceProcess{PID: r.PID, StartTicks: r.StartTicks, Cgroup: r.Cgroup, TmpDir: r.TmpDir, LogOffset: r.LogOffset})
}

func (rt *Runtime) running(name string) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.servers[name] != nil
}

// Stop stops name's server cleanly and waits for it; nothing when none
// runs.
func (rt *Runtime) Stop(name string) {
	rt.mu.Lock()
	s := rt.servers[name]
	delete(rt.servers, name)
	rt.mu.Unlock()
	if s == nil {
		return
	}
	s.sup.Stop()
	rt.cfg.Record(name, slipway.ServiceProcess{})
	rt.cfg.Logger.Info("service stopped", "service", name)
}

// StopAll stops every server, in parallel (slipway's clean stop, after
// the apps).
func (rt *Runtime) StopAll() {
	var wg sync.WaitGroup
	for _, name := range rt.Names() {
		wg.Go(func() { rt.Stop(name) })
	}
	wg.Wait()
}

// Detach ends supervision of every server without stopping any (an
// upgrade: the next slipway adopts them), recording where each runs.
func (rt *Runtime) Detach() {
	rt.each(func(name string, s *server) {
		s.sup.Detach()
		rt.record(name, s.sup.Current())
	})
}

// Resume supervises every server again after Detach.
func (rt *Runtime) Resume() {
	rt.each(func(_ string, s *server) { s.sup.Resume() })
}

func (rt *Runtime) each(f func(string, *server)) {
	rt.mu.Lock()
	all := make(map[string]*server, len(rt.servers))
	for n, s := range rt.servers {
		all[n] = s
	}
	rt.mu.Unlock()
	var wg sync.WaitGroup
	for n, s := range all {
		wg.Go(func() { f(n, s) })
	}
	wg.Wait()
}

// Names lists the services whose servers run, sorted.
func (rt *Runtime) Names() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]string, 0, len(rt.servers))
	for n := range rt.servers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Info returns the state of name's server: ok false when it is not run.
func (rt *Runtime) Info(name string) (supervisor.Info, bool) {
	rt.mu.Lock()
	s := rt.servers[name]
	rt.mu.Unlock()
	if s == nil {
		return supervisor.Info{}, false
	}
	return s.sup.Info(), true
}

// ErrNotRunning is the error of an operation that needs the server up.
var ErrNotRunning = errors.New("not running")
