package drains

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// Buffer bounds, per drain: lines wait there while the drain is slow or
// down; once either bound is reached new lines are dropped, and counted,
// until it has room again.
const (
	DefaultMaxLines = 10000
	DefaultMaxBytes = 4 << 20
)

// buffer is a drain's queue of lines, filled by the app log's writers and
// emptied by the drain's sender.
type buffer struct {
	maxLines, maxBytes int

	mu     sync.Mutex
	lines  [][]byte // oldest first, each a copy
	size   int      // bytes in lines
	closed bool     // the drain was removed: nothing more goes in

	wake    chan struct{} // one token: lines arrived
	dropped atomic.Uint64
}

func newBuffer(maxLines, maxBytes int) *buffer {
	return &buffer{maxLines: maxLines, maxBytes: maxBytes, wake: make(chan struct{}, 1)}
}

// push copies line in, or drops it when the buffer is full. It never
// waits but for the short lock.
func (b *buffer) push(line []byte) {
	b.mu.Lock()
	if b.closed || len(b.lines) >= b.maxLines || b.size+len(line) > b.maxBytes {
		b.mu.Unlock()
		b.dropped.Add(1)
		return
	}
	b.lines = append(b.lines, bytes.Clone(line))
	b.size += len(line)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // the sender is told already
	}
}

// peek returns the oldest lines, at most n of them and about maxBytes,
// at least one if there is any, leaving them in the buffer until done.
// Only the sender takes lines out, so they stay as they are meanwhile.
func (b *buffer) peek(n, maxBytes int) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, size := 0, 0
	for k < len(b.lines) && k < n && (k == 0 || size+len(b.lines[k]) <= maxBytes) {
		size += len(b.lines[k])
		k++
	}
	return b.lines[:k:k]
}

// done removes the n oldest lines, delivered.
func (b *buffer) done(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for _, l := range b.lines[:n] {
		b.size -= len(l)
	}
	clear(b.lines[:n]) // the array may live on: let the lines go
	b.lines = b.lines[n:]
	if len(b.lines) == 0 {
		b.lines = nil
	}
}

// len returns how many lines and bytes wait.
func (b *buffer) len() (lines, size int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lines), b.size
}

// close takes no more lines and drops those left, counting them.
func (b *buffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.dropped.Add(uint64(len(b.lines)))
	b.lines, b.size = nil, 0 // not cleared: the sender may be reading a batch of them
}
