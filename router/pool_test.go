package router

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPool_PickLeastOutstandingHealthy(t *testing.T) {
	mk := func(load int64, healthy bool) *Instance {
		i := &Instance{}
		i.outstanding.Store(load)
		i.SetHealthy(healthy)
		return i
	}
	for _, tc := range []struct {
		name  string
		pool  []*Instance
		skip  int
		wants []int // any of these
	}{
		{"empty", nil, -1, []int{-1}},
		{"least busy", []*Instance{mk(3, true), mk(1, true), mk(2, true)}, -1, []int{1}},
		{"unhealthy skipped", []*Instance{mk(3, true), mk(0, false)}, -1, []int{0}},
		{"all unhealthy", []*Instance{mk(0, false), mk(0, false)}, -1, []int{-1}},
		{"skip", []*Instance{mk(0, true), mk(5, true)}, 0, []int{1}},
		{"skip the only one", []*Instance{mk(0, true)}, 0, []int{-1}},
		{"tie", []*Instance{mk(1, true), mk(1, true), mk(4, true)}, -1, []int{0, 1}},
	} {
		p := &Pool{Instances: tc.pool}
		got := p.pick(tc.skip)
		ok := false
		for _, w := range tc.wants {
			ok = ok || got == w
		}
		if !ok {
			t.Errorf("%s: pick = %d, want one of %v", tc.name, got, tc.wants)
		}
	}
}

func TestPool_PickRotatesTies(t *testing.T) {
	p := &Pool{Instances: []*Instance{{}, {}, {}}}
	seen := map[int]int{}
	for range 30 {
		seen[p.pick(-1)]++
	}
	for i := range 3 {
		if seen[i] != 10 {
			t.Fatalf("picks per instance = %v, want 10 each", seen)
		}
	}
}

func TestRouter_InFlightAndWaitIdle(t *testing.T) {
	r := New(Config{})
	if got := r.InFlight(nil); got != 0 {
		t.Errorf("InFlight(nil) = %d, want 0", got)
	}
	if err := r.WaitIdle(context.Background(), nil); err != nil {
		t.Errorf("WaitIdle(nil) = %v", err)
	}
	p := &Pool{App: "web", Release: "v1"}
	if err := r.WaitIdle(context.Background(), p); err != nil {
		t.Errorf("WaitIdle on an idle pool = %v", err)
	}

	p.inflight.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.WaitIdle(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitIdle with a request in flight = %v, want DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() { done <- r.WaitIdle(context.Background(), p) }()
	p.inflight.Add(-1)
	if err := recv(t, done, "WaitIdle to return"); err != nil {
		t.Errorf("WaitIdle = %v", err)
	}
}
