package apps

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/slipway/slipway"
)

// locks are the apps' locks: one use case at a time per app. An app's
// lock lives while anyone holds or waits for it, so a destroy and a
// newcomer can never hold two locks of one app.
type locks struct {
	mu sync.Mutex
	m  map[string]*appLock
	// frozen, while set, holds every new use case back (Freeze); it is
	// closed when they may go on, or give up when handedOver.
	frozen     chan struct{}
	handedOver bool
}

// errHandedOver is the answer to a use case that waited while slipway
// handed over to a new slipway process (an upgrade).
var errHandedOver = slipway.Errorf(slipway.ECONFLICT, "slipway was upgraded while this waited: run it again")

// Freeze waits until no use case runs or waits and busy (a push on its
// way to a deploy, say) is false, then holds every new one back, so that
// another slipway process may take the apps over. Thaw lets them go on, or
// with handedOver (the other process took over) makes them give up. An
// error when that does not happen before ctx is done.
func (s *Service) Freeze(ctx context.Context, busy func() bool) (thaw func(handedOver bool), err error) {
	l := &s.locks
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		l.mu.Lock()
		if len(l.m) == 0 && !busy() {
			frozen := make(chan struct{})
			l.frozen = frozen
			l.mu.Unlock()
			return func(handedOver bool) {
				l.mu.Lock()
				l.frozen, l.handedOver = nil, handedOver
				l.mu.Unlock()
				close(frozen)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, slipway.Errorf(slipway.ECONFLICT, "a deploy or another change is still running: try again when it is done")
		case <-t.C:
		}
	}
}

type appLock struct {
	token chan struct{} // holds one token while a use case runs
	refs  int           // holders and waiters
}

// acquire takes the lock of an existing app. Whether the app exists is
// decided under the lock, so a use case that waited for a destroy finds
// no app (ENOTFOUND).
func (s *Service) acquire(ctx context.Context, app string, out io.Writer) (unlock func(), err error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	if unlock, err = s.lock(ctx, app, out); err != nil {
		return nil, err
	}
	if err := s.exists(ctx, app); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// lock takes app's lock. When another use case holds it, lock says so on
// out and waits, until ctx is done. The returned function releases it.
func (s *Service) lock(ctx context.Context, app string, out io.Writer) (unlock func(), err error) {
	l := &s.locks
	l.mu.Lock()
	for l.frozen != nil {
		frozen := l.frozen
		l.mu.Unlock()
		select {
		case <-frozen:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		l.mu.Lock()
		if l.handedOver {
			l.mu.Unlock()
			return nil, errHandedOver
		}
	}
	if l.handedOver {
		l.mu.Unlock()
		return nil, errHandedOver
	}
	if l.m == nil {
		l.m = map[string]*appLock{}
	}
	e := l.m[app]
	if e == nil {
		e = &appLock{token: make(chan struct{}, 1)}
		l.m[app] = e
	}
	e.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, app)
		}
		l.mu.Unlock()
	}
	select {
	case e.token <- struct{}{}:
	default:
		// The line keeps the component it had when the releaser held the
		// lock: operators (and the end-to-end tests) look for it.
		s.cfg.Logger.Info("deploy waiting for the one in progress", "component", "releaser", "app", app)
		fmt.Fprintf(out, "-----> Another deploy of %s is in progress: waiting for it to finish\n", app)
		select {
		case e.token <- struct{}{}:
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return func() {
		<-e.token
		release()
	}, nil
}

// lockRefs returns how many hold or wait for app's lock.
func (s *Service) lockRefs(app string) int {
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	if e := s.locks.m[app]; e != nil {
		return e.refs
	}
	return 0
}
