package releaser

import (
	"context"
	"io"
	"os"

	"github.com/slipway/slipway/supervisor"
)

// Destroy stops every process of app, forgets it in the router and the
// history, and removes its data directory with remove (release directories
// are read-only: builder.Remove). Callers hold the app's deploy lock.
func (r *Releaser) Destroy(ctx context.Context, name string, remove func(string) error) error {
	a, err := r.existing(name)
	if err != nil {
		return err
	}
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
	a.log.Close()
	if err := r.cfg.Store.DeleteApp(ctx, name); err != nil {
		return err
	}
	r.mu.Lock()
	delete(r.apps, name)
	r.mu.Unlock()
	if err := remove(r.appDir(name)); err != nil && !os.IsNotExist(err) {
		return err
	}
	r.logger.Info("app destroyed", "app", name)
	return nil
}

// Logs writes the app's log to out (see supervisor.Tail).
func (r *Releaser) Logs(ctx context.Context, name string, opt supervisor.LogOptions, out io.Writer) error {
	if _, err := r.existing(name); err != nil {
		return err
	}
	return supervisor.Tail(ctx, r.layout.AppLog(name), opt, out)
}
