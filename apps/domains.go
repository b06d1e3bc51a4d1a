package apps

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/slipway/slipway"
)

// Hosts is what the application layer needs of the router for domains.
type Hosts interface {
	// SetDomains makes domains app's own names, replacing those it had.
	SetDomains(app string, domains []string)
}

// DefaultDomain is NAME.<domain>, the name every app has.
func (s *Service) DefaultDomain(app string) string { return app + "." + s.cfg.Domain }

// Domains returns the app's names: NAME.<domain> first, then its own.
func (s *Service) Domains(ctx context.Context, app string) ([]string, error) {
	if err := s.exists(ctx, app); err != nil {
		return nil, err
	}
	own, err := s.store.AppDomains(ctx, app)
	if err != nil {
		return nil, err
	}
	return append([]string{s.DefaultDomain(app)}, own...), nil
}

// parseDomains checks names as domains:add and domains:remove take them.
func (s *Service) parseDomains(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, slipway.Errorf(slipway.EINVALID, "no domain given: name one or more, like shop.example.com")
	}
	var out []string
	own := strings.ToLower(s.cfg.Domain)
	for _, n := range names {
		d, err := slipway.ParseDomain(n)
		if err != nil {
			return nil, err
		}
		// slipway's own names stay its own: --domain itself, a wildcard at
		// or under it, and NAME.<domain>, some app's default name.
		bare := strings.TrimPrefix(d, "*.")
		label, under := strings.CutSuffix(bare, "."+own)
		if bare == own || under && (slipway.IsWildcard(d) || !strings.Contains(label, ".")) {
			return nil, slipway.Errorf(slipway.EINVALID, "%s is slipway's own (--domain %s): every app has NAME.%s already; add a name of your own", d, s.cfg.Domain, own)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// AddDomains gives the app the domains, all or none: refused, naming the
// owner, when another app has one. Routing follows at once; it is not a
// release and moves no session.
func (s *Service) AddDomains(ctx context.Context, app string, names []string, out io.Writer) error {
	domains, err := s.parseDomains(names)
	if err != nil {
		return err
	}
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.store.AddDomains(ctx, app, domains); err != nil {
		return err
	}
	if err := s.routeDomains(ctx, app); err != nil {
		return err
	}
	for _, d := range domains {
		fmt.Fprintf(out, "Added %s to %s\n", d, app)
		if slipway.IsWildcard(d) && s.cfg.Certs != nil {
			fmt.Fprintf(out, "       %s takes a certificate of your own for HTTPS (certs:add %s < bundle.pem): automatic ones would need DNS-01, which slipway does not do\n", d, app)
		}
	}
	if s.cfg.Certs != nil {
		s.cfg.Certs.Obtain(domains)
	}
	s.logger.Info("domains added", "app", app, "domains", strings.Join(domains, ","))
	s.event(ctx, app, slipway.EventDomains, "added "+strings.Join(domains, ", "))
	return nil
}

// RemoveDomains takes the domains from the app, all or none; the router
// stops routing them at once.
func (s *Service) RemoveDomains(ctx context.Context, app string, names []string, out io.Writer) error {
	domains, err := s.parseDomains(names)
	if err != nil {
		return err
	}
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.store.RemoveDomains(ctx, app, domains); err != nil {
		return err
	}
	if err := s.routeDomains(ctx, app); err != nil {
		return err
	}
	for _, d := range domains {
		fmt.Fprintf(out, "Removed %s from %s\n", d, app)
	}
	s.logger.Info("domains removed", "app", app, "domains", strings.Join(domains, ","))
	s.event(ctx, app, slipway.EventDomains, "removed "+strings.Join(domains, ", "))
	return nil
}

// ClearDomains takes every domain of its own from the app; it keeps
// NAME.<domain>.
func (s *Service) ClearDomains(ctx context.Context, app string, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.store.ClearDomains(ctx, app); err != nil {
		return err
	}
	if err := s.routeDomains(ctx, app); err != nil {
		return err
	}
	fmt.Fprintf(out, "Cleared the domains of %s; it keeps %s\n", app, s.DefaultDomain(app))
	s.logger.Info("domains cleared", "app", app)
	s.event(ctx, app, slipway.EventDomains, "cleared")
	return nil
}

// routeDomains gives the router the app's domains as the history has
// them.
func (s *Service) routeDomains(ctx context.Context, app string) error {
	if s.cfg.Hosts == nil {
		return nil
	}
	own, err := s.store.AppDomains(ctx, app)
	if err != nil {
		return err
	}
	s.cfg.Hosts.SetDomains(app, own)
	return nil
}

// restoreDomains gives the router every app's domains, at start.
func (s *Service) restoreDomains(ctx context.Context) {
	if s.cfg.Hosts == nil {
		return
	}
	all, err := s.store.AllDomains(ctx)
	if err != nil {
		s.logger.Error("read domains", "err", err)
		return
	}
	for app, domains := range all {
		s.cfg.Hosts.SetDomains(app, domains)
		if s.cfg.Certs != nil {
			s.cfg.Certs.Obtain(domains) // loads those kept in DATA/certs, renews them in time
		}
	}
}
