package releaser

import (
	"io"
)

// Forget stops every process of app, in parallel, drops its cron jobs and
// removes it from the router.
func (r *Releaser) Forget(name string) {
	a := r.app(name)
	a.mu.Lock()
	pools := a.draining
	if a.live != nil {
		pools = append(pools, a.live)
	}
	workers := a.workers.list()
	a.live, a.draining, a.workers = nil, nil, nil
	a.mu.Unlock()
	r.stopAll(workers)
	r.schedule(name, Spec{}, 0, io.Discard)
	r.cfg.Router.Remove(name)
	for _, p := range pools {
		r.stopPool(p)
	}
	r.cfg.AppLogs.Forget(name)
	r.mu.Lock()
	delete(r.apps, name)
	r.mu.Unlock()
	r.logger.Info("app stopped and forgotten", "app", name)
}
