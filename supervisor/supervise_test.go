package supervisor

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestSupervise_RestartsAndReportsDownAndUp(t *testing.T) {
	s := spec(t, `sleep 60`)
	first, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	var down, up, restarted, checked atomic.Int32
	sup := Supervise(first, func() (*Process, error) { return Start(s) }, Hooks{
		Check: func(ctx context.Context, p *Process) error {
			checked.Add(1)
			return nil
		},
		CheckTimeout: time.Second,
		Down:         func() { down.Add(1) },
		Up:           func() { up.Add(1) },
		Restarted:    func() { restarted.Add(1) },
		StopGrace:    time.Second,
	})
	t.Cleanup(sup.Stop)
	syscall.Kill(-first.PID(), syscall.SIGKILL)
	waitFor(t, "the restart", func() bool {
		in := sup.Info()
		return in.State == StateUp && in.PID != first.PID() && in.Restarts == 1
	})
	if down.Load() != 1 || up.Load() != 1 || restarted.Load() != 1 || checked.Load() != 1 {
		t.Errorf("hooks: down %d, up %d, restarted %d, checked %d; want 1 each", down.Load(), up.Load(), restarted.Load(), checked.Load())
	}
	cur := sup.Current()
	sup.Stop()
	if cur.Alive() || sup.Info().State != StateStopped || down.Load() != 2 {
		t.Errorf("after Stop: running %v, state %s, down %d", cur.Alive(), sup.Info().State, down.Load())
	}
}

func TestSupervise_FailedCheckStopsTheNewProcess(t *testing.T) {
	s := spec(t, `sleep 60`)
	first, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan *Process, 10)
	sup := Supervise(first, func() (*Process, error) {
		p, err := Start(s)
		if err == nil {
			started <- p
		}
		return p, err
	}, Hooks{
		Check:        func(context.Context, *Process) error { return errors.New("not ready") },
		CheckTimeout: time.Second,
		StopGrace:    time.Second,
	})
	t.Cleanup(sup.Stop)
	syscall.Kill(-first.PID(), syscall.SIGKILL)
	p := <-started
	waitFor(t, "the unhealthy restart to be stopped", func() bool { return !p.Alive() })
	if st := sup.Info().State; st == StateUp {
		t.Errorf("state = %s after a failed check", st)
	}
}
