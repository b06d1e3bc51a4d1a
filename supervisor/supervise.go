package supervisor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/slipway/slipway"
)

// Restart backoff of a crashed process: it doubles from restartMin to
// restartMax and starts again from restartMin once a process has stayed
// up for stableAfter. crashLoopAfter restarts in a row without a stable
// run are reported as a crash loop.
const (
	restartMin     = 500 * time.Millisecond
	restartMax     = 30 * time.Second
	stableAfter    = 30 * time.Second
	crashLoopAfter = 3
)

// Process states, as `ps` shows them: the domain's.
const (
	StateStarting = slipway.StateStarting
	StateUp       = slipway.StateUp
	StateCrashed  = slipway.StateCrashed
	StateStopped  = slipway.StateStopped
)

// Hooks tell a Supervised what to do around a restart. Every field may be
// nil or zero.
type Hooks struct {
	// Check decides whether a restarted process is ready; nil means it is
	// once started. It runs under CheckTimeout.
	Check        func(ctx context.Context, p *Process) error
	CheckTimeout time.Duration
	// Down is called when the process exits, before the restart, and by
	// Stop before the process is stopped; Up once a restarted process has
	// passed Check.
	Down, Up func()
	// Restarted is called for every restart (for metrics).
	Restarted func()
	// Exited, when set, hears how the process ended and when it is
	// restarted, for the app's log; loop is how many times in a row it has
	// ended without a stable run when that makes a crash loop, else 0.
	Exited func(exit string, restartIn time.Duration, loop int)
	// StopGrace is the SIGTERM-to-SIGKILL grace of Stop.
	StopGrace time.Duration
	Logger    *slog.Logger // slog.Default when nil
}

// Supervised keeps one process running: when it exits, Hooks.Down is
// called, a new one is started with backoff, and once it passes
// Hooks.Check, Hooks.Up.
type Supervised struct {
	spawn func() (*Process, error)
	hooks Hooks

	mu       sync.Mutex
	cur      *Process
	state    string
	lastExit string // how the last process ended
	restarts int
	since    time.Time // when the current process started
	looping  bool      // crash looping

	stopOnce sync.Once
	stopc    chan struct{}
	detachc  chan struct{} // closed by Detach
	done     chan struct{} // closed when watch has returned
}

// Supervise takes over first, a started process that is ready (state up),
// and restarts it with spawn whenever it exits, until Stop.
func Supervise(first *Process, spawn func() (*Process, error), h Hooks) *Supervised {
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	s := &Supervised{spawn: spawn, hooks: h, cur: first, state: StateUp, since: first.Started(),
		stopc: make(chan struct{}), detachc: make(chan struct{}), done: make(chan struct{})}
	go s.watch(s.detachc, s.done)
	return s
}

// Detach ends supervision but not the process: it keeps running, its
// output no longer copied to the app log, for a later slipway to adopt
// (an upgrade). The process is not restarted if it exits meanwhile.
// Resume undoes it, if the later slipway did not start after all.
func (s *Supervised) Detach() {
	s.mu.Lock()
	detachc, done, cur := s.detachc, s.done, s.cur
	s.mu.Unlock()
	select {
	case <-detachc:
		return
	default:
	}
	close(detachc)
	<-done
	cur.Detach()
}

// Resume supervises the process again after Detach.
func (s *Supervised) Resume() {
	s.mu.Lock()
	select {
	case <-s.detachc:
	default:
		s.mu.Unlock()
		return // not detached
	}
	select {
	case <-s.stopc:
		s.mu.Unlock()
		return
	default:
	}
	s.detachc, s.done = make(chan struct{}), make(chan struct{})
	detachc, done, cur := s.detachc, s.done, s.cur
	s.mu.Unlock()
	cur.Resume()
	go s.watch(detachc, done)
}

// Info is a snapshot of a supervised process, for `ps`.
type Info struct {
	ID string
	// Running names the process for a later slipway (Adopt): its pid and
	// start time, its cgroup, TMPDIR and how much of its log is copied.
	Running
	State    string
	LastExit string // how the last process ended, when one did
	Restarts int
	Since    time.Time
	// CrashLoop is set while the process keeps ending without a stable
	// run, until one stays up.
	CrashLoop bool
}

// Info returns the current state.
func (s *Supervised) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Info{ID: s.cur.id, Running: s.cur.Running(), State: s.state, LastExit: s.lastExit, Restarts: s.restarts, Since: s.since,
		CrashLoop: s.looping && !(s.state == StateUp && time.Since(s.since) >= stableAfter)}
}

// Current returns the process running now (or the last one, when a
// restart is pending).
func (s *Supervised) Current() *Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *Supervised) set(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
}

// watch runs until Stop or Detach (detachc): it restarts the process
// whenever it exits.
func (s *Supervised) watch(detachc, done chan struct{}) {
	defer close(done)
	cur := s.Current()
	log := s.hooks.Logger.With("instance", cur.id)
	inRow := 0
	for {
		select {
		case <-s.stopc:
			return
		case <-detachc:
			return
		case <-cur.Exited():
		}
		if s.hooks.Down != nil {
			s.hooks.Down()
		}
		cur.Stop(0) // what the process left running in its group
		if time.Since(cur.Started()) >= stableAfter {
			inRow = 0
		}
		inRow++
		backoff := min(restartMin<<(inRow-1), restartMax)
		exit := cur.ExitText()
		looping := inRow > crashLoopAfter
		s.set(func() { // crashed since now
			s.state, s.lastExit, s.since, s.looping = StateCrashed, exit, time.Now(), looping
		})
		if s.hooks.Exited != nil {
			loop := 0
			if looping {
				loop = inRow
			}
			s.hooks.Exited(exit, backoff, loop)
		}
		if looping {
			log.Error("instance is crash looping", "exit", cur.ExitText(), "restarts_in_a_row", inRow-1, "next_try", backoff.String())
		} else {
			log.Warn("instance exited: restarting", "exit", cur.ExitText(), "in", backoff.String())
		}
		t := time.NewTimer(backoff)
		select {
		case <-s.stopc:
			t.Stop()
			return
		case <-detachc:
			t.Stop()
			return
		case <-t.C:
		}
		next, err := s.spawn()
		s.set(func() {
			s.restarts++
			if err == nil {
				s.cur, s.state, s.since = next, StateStarting, next.Started()
			}
		})
		if s.hooks.Restarted != nil {
			s.hooks.Restarted()
		}
		if err != nil {
			log.Error("instance restart failed", "err", err)
			continue // cur has exited: back off again
		}
		cur = next
		if err := s.check(next, detachc); err != nil {
			log.Warn("restarted instance failed its health check", "err", err)
			next.Stop(s.hooks.StopGrace)
			continue
		}
		s.set(func() { s.state = StateUp })
		if s.hooks.Up != nil {
			s.hooks.Up()
		}
		log.Info("instance restarted and healthy", "restarts", s.Info().Restarts)
	}
}

// check runs Hooks.Check on p; a Stop meanwhile ends it early.
func (s *Supervised) check(p *Process, detachc chan struct{}) error {
	if s.hooks.Check == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.hooks.CheckTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.stopc:
			cancel()
		case <-detachc:
			cancel()
		case <-ctx.Done():
		}
	}()
	return s.hooks.Check(ctx, p)
}

// Stop ends supervision and the process, and waits for both. Later calls
// do nothing.
func (s *Supervised) Stop() { s.stopOnce.Do(s.stop) }

func (s *Supervised) stop() {
	s.mu.Lock()
	close(s.stopc)
	done := s.done
	s.mu.Unlock()
	<-done
	var cur *Process
	s.set(func() { cur, s.state = s.cur, StateStopped })
	if s.hooks.Down != nil {
		s.hooks.Down()
	}
	cur.Stop(s.hooks.StopGrace)
}
