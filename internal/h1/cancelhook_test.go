package h1

import (
	"context"
	"testing"
)

// AfterCancel keeps context.AfterFunc's promises for the one function it
// holds: it runs once when the request is canceled, not if stopped first;
// a second registration, or one after the cancel, is refused (the caller
// then uses context.AfterFunc); children of the context are canceled with it.
func TestRequestContext_AfterCancel(t *testing.T) {
	h := newCancelHook()
	base, cancelBase := context.WithCancel(context.Background())
	cancel := func() { cancelBase(); h.fire() }
	ctx := &requestContext{Context: base, hook: h}
	child, stopChild := context.WithCancel(ctx)
	defer stopChild()

	runs := 0
	stop, ok := ctx.AfterCancel(func() { runs++ })
	if !ok {
		t.Fatal("the first registration was refused")
	}
	if _, ok := ctx.AfterCancel(func() {}); ok {
		t.Error("a second registration was taken while one is held")
	}
	if !stop() {
		t.Error("stop before the cancel reported that it stopped nothing")
	}
	if stop() {
		t.Error("a second stop reported that it stopped something")
	}
	stop, ok = ctx.AfterCancel(func() { runs++ })
	if !ok {
		t.Fatal("a registration after a stop was refused")
	}
	cancel()
	if runs != 1 {
		t.Errorf("the function ran %d times on cancel, want 1", runs)
	}
	if stop() {
		t.Error("stop after the function ran reported that it stopped it")
	}
	if _, ok := ctx.AfterCancel(func() {}); ok {
		t.Error("a registration after the cancel was taken (it would never run)")
	}
	if child.Err() == nil {
		t.Error("a child context was not canceled with the request's")
	}
	h.reset()
	if _, ok := ctx.AfterCancel(func() {}); !ok {
		t.Error("after reset (the next request) a registration was refused")
	}
}
