package apps

import (
	"context"
	"fmt"
	"io"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// Resources returns the app's limits by process type
// (slipway.AllProcesses for every process).
func (s *Service) Resources(ctx context.Context, app string) (map[string]slipway.Limits, error) {
	if err := s.exists(ctx, app); err != nil {
		if svc, serr := s.store.FindService(ctx, app); serr == nil { // a service's
			return map[string]slipway.Limits{slipway.AllProcesses: svc.Limits}, nil
		}
		return nil, err
	}
	return s.store.AppLimits(ctx, app)
}

// SetResources sets (KEY=VALUE) and unsets (KEY) the limits of the app's
// process type process (slipway.AllProcesses: every process; "build":
// its builds). They hold for every process started from now on: the
// next deploy, restart or ps:restart.
func (s *Service) SetResources(ctx context.Context, app, process string, set, unset []string, out io.Writer) error {
	if process != slipway.AllProcesses && !slipway.ValidProcessType(process) {
		return slipway.Errorf(slipway.EINVALID, "--process %q: name a process type such as web, worker or build", process)
	}
	if s.exists(ctx, app) != nil {
		if svc, err := s.store.FindService(ctx, app); err == nil {
			return s.setServiceResources(ctx, svc, process, set, unset, out)
		}
	}
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	all, err := s.store.AppLimits(ctx, app)
	if err != nil {
		return err
	}
	l := all[process]
	for _, kv := range set {
		if err := l.SetLimit(kv); err != nil {
			return err
		}
	}
	for _, k := range unset {
		if err := l.Unset(k); err != nil {
			return err
		}
	}
	if err := s.store.SetAppLimits(ctx, app, process, l); err != nil {
		return err
	}
	which := "every process"
	if process != slipway.AllProcesses {
		which = process + " processes"
	}
	fmt.Fprintf(out, "Limits of %s for %s: %s (from the next start: ps:restart applies them now)\n", app, which, l)
	s.event(ctx, app, slipway.EventResources, which+": "+l.String())
	if !s.limitsEnforced() {
		fmt.Fprintln(out, "Note: limits need slipway to run as root with cgroups (v1 memory, cpu, pids and freezer, or v2 with memory, cpu and pids delegated to slipway): they are stored, and until then the sandbox confines the app but nothing bounds its memory, CPU or processes")
	}
	return nil
}

// limitsEnforced reports whether this host enforces resource limits.
func (s *Service) limitsEnforced() bool {
	return s.cfg.Identities != nil && s.cfg.Identities.Root() && supervisor.CgroupsAvailable()
}

// setServiceResources sets and unsets the limits of a service's server
// (resources:set NAME where NAME is a service's), from its next start.
func (s *Service) setServiceResources(ctx context.Context, svc *slipway.BackingService, process string, set, unset []string, out io.Writer) error {
	if process != slipway.AllProcesses {
		return slipway.Errorf(slipway.EINVALID, "%s is a %s service: its server has no process types, leave out --process", svc.Name, svc.Kind)
	}
	svc, unlock, err := s.lockService(ctx, svc.Kind, svc.Name, out)
	if err != nil {
		return err
	}
	defer unlock()
	l := svc.Limits
	for _, kv := range set {
		if err := l.SetLimit(kv); err != nil {
			return err
		}
	}
	for _, k := range unset {
		if err := l.Unset(k); err != nil {
			return err
		}
	}
	if _, err := s.store.UpdateService(ctx, svc.Name, slipway.ServiceUpdate{Limits: &l}); err != nil {
		return err
	}
	fmt.Fprintf(out, "Limits of %s service %s: %s (from its next start: %s:restart %s applies them now)\n", svc.Kind, svc.Name, l, svc.Kind, svc.Name)
	if !s.limitsEnforced() {
		fmt.Fprintln(out, "Note: limits need slipway to run as root with cgroups: they are stored, and not enforced until then")
	}
	return nil
}
