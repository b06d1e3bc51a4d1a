package router

import (
	"context"
	"errors"
	"io"
	"sync"
)

var errBodyClosed = errors.New("read on closed response body")

// connBody is the body of a response the transport read. Closing it after
// reading it to the end hands its connection back to the idle stack, if
// the response allows; closing it earlier closes the connection, which also
// unblocks a Read in another goroutine.
type connBody struct {
	c    *conn
	body io.ReadCloser // from http.ReadResponse; never closed, as that would drain it
	ctx  context.Context
	stop func() bool // the exchange's cancellation hook, or nil
	keep bool        // the response allows reusing the connection

	mu     sync.Mutex
	eof    bool
	closed bool
}

// Read implements io.Reader.
func (b *connBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return 0, errBodyClosed
	}
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
	case err != nil && b.ctx.Err() != nil:
		err = context.Cause(b.ctx) // the request was cancelled, which broke the read
	case err != nil:
		b.c.host.t.errs.reset.Add(1) // the instance cut its response short
	}
	return n, err
}

// Close implements io.Closer.
func (b *connBody) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	eof := b.eof
	b.mu.Unlock()
	b.c.release(b.stop, b.keep && eof)
	return nil
}
