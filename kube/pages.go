package kube

import (
	"context"
	"slices"
	"time"
)

// What slipway serve's router is told of an app beyond its pools (its own
// domains, maintenance) goes into the app's ConfigMap too, so that every
// router replica answers as that one does. cmd/slipway tells both.

// SetDomains makes domains app's own names at every replica.
func (s *Scheduler) SetDomains(app string, domains []string) {
	a := s.app(app)
	s.mu.Lock()
	a.domains = slices.Clone(domains)
	s.mu.Unlock()
	s.publishLater(a)
}

// SetMaintenance puts app in maintenance at every replica, or takes it
// out.
func (s *Scheduler) SetMaintenance(app string, on bool, page []byte) {
	a := s.app(app)
	s.mu.Lock()
	a.maintenance, a.page = on, slices.Clone(page)
	if !on {
		a.page = nil
	}
	s.mu.Unlock()
	s.publishLater(a)
}

// publishLater writes a's ConfigMap now if it has one to write (a
// release live or stopped), else with its first release; the drain loop
// retries what the cluster does not take.
func (s *Scheduler) publishLater(a *app) {
	s.mu.Lock()
	has := a.live != 0 || len(a.draining) > 0
	s.mu.Unlock()
	if !has {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.publish(ctx, a); err != nil {
		s.logger.Error("tell the routers: retried", "app", a.name, "err", err)
	}
}
