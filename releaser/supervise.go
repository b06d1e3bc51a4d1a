package releaser

import (
	"context"
	"io"
	"os"
	"sync"
	"time"

	"github.com/slipway/slipway/router"
)

// Restart backoff of a crashed instance: it doubles from restartMin to
// restartMax and starts again from restartMin once an instance has stayed
// up for stableAfter. crashLoopAfter restarts in a row without a stable
// run are reported as a crash loop.
const (
	restartMin     = 500 * time.Millisecond
	restartMax     = 30 * time.Second
	stableAfter    = 30 * time.Second
	crashLoopAfter = 3
)

// Instance states, as `ps` shows them.
const (
	StateStarting = "starting"
	StateUp       = "up"
	StateCrashed  = "crashed" // exited; a restart is scheduled
	StateStopped  = "stopped"
)

// supervised keeps one instance of a pool running: when its process exits
// it is taken out of rotation, restarted on the same port with backoff, and
// put back once it passes the health check again.
type supervised struct {
	id    string
	typ   string // process type: web, worker, …
	port  int    // 0 for processes that are not routed
	route *router.Instance
	spawn func() (*instance, error) // starts a new process for this slot

	mu       sync.Mutex
	cur      *instance
	state    string
	restarts int
	since    time.Time // when the current process started

	stopc chan struct{}
	done  chan struct{}
}

// newSupervised returns the supervisor of a started instance; route is a
// router instance only for web processes.
func newSupervised(id, typ string, port int, in *instance, spawn func() (*instance, error)) *supervised {
	s := &supervised{
		id: id, typ: typ, port: port, cur: in, state: StateStarting, since: in.started, spawn: spawn,
		stopc: make(chan struct{}), done: make(chan struct{}),
	}
	s.route = &router.Instance{ID: id, Addr: in.addr()}
	if port == 0 {
		s.route.SetHealthy(false) // never routed
	}
	return s
}

// supervisedInfo is a snapshot for `ps` and the admin page.
type supervisedInfo struct {
	ID       string
	Port     int
	PID      int
	State    string
	Restarts int
	Since    time.Time
}

func (s *supervised) info() supervisedInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := supervisedInfo{ID: s.id, Port: s.port, State: s.state, Restarts: s.restarts, Since: s.since}
	if s.cur != nil && s.cur.cmd.Process != nil {
		in.PID = s.cur.cmd.Process.Pid
	}
	return in
}

// watch runs until stop: it restarts the process whenever it exits.
func (r *Releaser) watch(s *supervised, app, release string) {
	defer close(s.done)
	log := r.logger.With("app", app, "release", release, "instance", s.id)
	inRow := 0
	for {
		s.mu.Lock()
		cur := s.cur
		s.mu.Unlock()
		select {
		case <-s.stopc:
			return
		case <-cur.exited:
		}
		s.route.SetHealthy(false)
		if time.Since(cur.started) >= stableAfter {
			inRow = 0
		}
		inRow++
		backoff := min(restartMin<<(inRow-1), restartMax)
		s.mu.Lock()
		s.state = StateCrashed
		s.mu.Unlock()
		if inRow > crashLoopAfter {
			log.Error("instance is crash looping", "exit", cur.exitText(), "restarts_in_a_row", inRow-1, "next_try", backoff.String())
		} else {
			log.Warn("instance exited: restarting", "exit", cur.exitText(), "in", backoff.String())
		}
		t := time.NewTimer(backoff)
		select {
		case <-s.stopc:
			t.Stop()
			return
		case <-t.C:
		}
		next, err := s.spawn()
		if err != nil {
			log.Error("instance restart failed", "err", err)
			next = exitedInstance(cur)
		}
		s.mu.Lock()
		s.cur, s.state, s.since = next, StateStarting, time.Now()
		s.restarts++
		s.mu.Unlock()
		if r.cfg.OnRestart != nil {
			r.cfg.OnRestart(app)
		}
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.DeployTimeout)
		go func() { // a stop while the check runs ends it early
			select {
			case <-s.stopc:
				cancel()
			case <-ctx.Done():
			}
		}()
		if s.port > 0 {
			err = checkHealth(ctx, next, nil, io.Discard)
		}
		cancel()
		if err != nil {
			log.Warn("restarted instance failed its health check", "err", err)
			next.stop(r.cfg.StopGrace)
			continue
		}
		s.mu.Lock()
		s.state = StateUp
		s.mu.Unlock()
		s.route.SetHealthy(s.port > 0)
		log.Info("instance restarted and healthy", "restarts", s.restarts)
	}
}

// stop ends supervision and the process, and waits for both.
func (s *supervised) stop(grace time.Duration) {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	cur := s.cur
	s.state = StateStopped
	s.mu.Unlock()
	s.route.SetHealthy(false)
	cur.stop(grace)
	os.RemoveAll(cur.tmpDir)
}

// exitedInstance stands in for a process that could not be started, so
// the watch loop sees it as exited at once and backs off again.
func exitedInstance(prev *instance) *instance {
	in := &instance{id: prev.id, port: prev.port, cmd: prev.cmd, tmpDir: prev.tmpDir, logPath: prev.logPath,
		exited: make(chan struct{}), copied: make(chan struct{}), err: prev.err, started: time.Now()}
	close(in.exited)
	close(in.copied)
	return in
}
