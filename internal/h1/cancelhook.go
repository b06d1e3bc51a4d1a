package h1

import (
	"context"
	"sync"
)

// requestContext is a request's context: the context.WithCancel of the
// connection's that ServeHTTP's return or the client's leaving cancels,
// which also runs, at most once, one function registered with AfterCancel.
// context.AfterFunc does that for any context, at the price of four
// allocations and a map on every call: the router's transport registers
// one for each exchange with an instance (to unblock it if the client
// leaves), and finds AfterCancel by its method.
type requestContext struct {
	context.Context
	hook *cancelHook
}

// cancelHook is a connection's one registration slot, reused request
// after request; stop is built once.
type cancelHook struct {
	mu       sync.Mutex
	f        func()
	canceled bool // the request's context was canceled: no registration
	stop     func() bool
	done     chan struct{} // an Exchange's Done, made when asked for
}

func newCancelHook() *cancelHook {
	h := &cancelHook{}
	h.stop = h.unregister
	return h
}

// AfterCancel arranges for f to run when ctx is canceled, as
// context.AfterFunc does, and returns the function that undoes that (it
// reports whether it stopped f from running). ok is false when ctx is
// already canceled or another function is registered: the caller then
// uses context.AfterFunc.
func (ctx *requestContext) AfterCancel(f func()) (stop func() bool, ok bool) {
	return ctx.hook.register(f)
}

func (h *cancelHook) register(f func()) (stop func() bool, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.canceled || h.f != nil {
		return nil, false
	}
	h.f = f
	return h.stop, true
}

func (h *cancelHook) unregister() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	registered := h.f != nil
	h.f = nil
	return registered
}

// reset readies h for the next request.
func (h *cancelHook) reset() {
	h.mu.Lock()
	h.f, h.canceled, h.done = nil, false, nil
	h.mu.Unlock()
}

// fire runs the registered function, if any; no other registers after it
// until reset.
func (h *cancelHook) fire() {
	h.mu.Lock()
	f := h.f
	if !h.canceled && h.done != nil {
		close(h.done)
	}
	h.f, h.canceled = nil, true
	h.mu.Unlock()
	if f != nil {
		f()
	}
}

// exchangeContext is an Exchange's context: the connection's (which only
// carries values) canceled by the hook alone, when the client goes away
// and when ServeSimple returns, without the two allocations of a
// context.WithCancel; its Done channel is made only if asked for.
type exchangeContext struct {
	context.Context
	hook *cancelHook
}

func (ctx *exchangeContext) Done() <-chan struct{} {
	h := ctx.hook
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = make(chan struct{})
		if h.canceled {
			close(h.done)
		}
	}
	return h.done
}

func (ctx *exchangeContext) Err() error {
	h := ctx.hook
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.canceled {
		return context.Canceled
	}
	return nil
}

// AfterCancel is requestContext's.
func (ctx *exchangeContext) AfterCancel(f func()) (stop func() bool, ok bool) {
	return ctx.hook.register(f)
}
