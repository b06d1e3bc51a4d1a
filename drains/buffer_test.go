package drains

import (
	"strings"
	"testing"
)

// A full buffer drops new lines and counts them, and takes lines again
// once the sender emptied it.
func TestBuffer_DropsAndCountsWhenFull(t *testing.T) {
	b := newBuffer(3, 1<<20)
	for i := range 5 {
		b.push([]byte{byte('a' + i)})
	}
	if n, size := b.len(); n != 3 || size != 3 {
		t.Errorf("buffer holds %d lines, %d bytes; want 3, 3", n, size)
	}
	if got := b.dropped.Load(); got != 2 {
		t.Errorf("dropped = %d, want 2", got)
	}
	batch := b.peek(10, 1<<20)
	if got := string(batch[0]) + string(batch[1]) + string(batch[2]); got != "abc" {
		t.Errorf("batch = %q, want the oldest lines abc", got)
	}
	b.done(len(batch))
	b.push([]byte("f"))
	if n, _ := b.len(); n != 1 {
		t.Errorf("after delivery the buffer takes lines again: %d held", n)
	}
}

// The bytes bound holds too: a few huge lines fill it before the lines
// bound does.
func TestBuffer_BoundsBytes(t *testing.T) {
	b := newBuffer(100, 10)
	b.push([]byte("123456"))
	b.push([]byte("7890ab")) // would make 12 bytes
	b.push([]byte("cd"))
	if n, size := b.len(); n != 2 || size != 8 || b.dropped.Load() != 1 {
		t.Errorf("buffer holds %d lines of %d bytes, dropped %d; want 2, 8, 1", n, size, b.dropped.Load())
	}
}

// The buffer keeps its own copy: the writer reuses its line.
func TestBuffer_CopiesTheLine(t *testing.T) {
	b := newBuffer(10, 100)
	line := []byte("first")
	b.push(line)
	copy(line, "XXXXX")
	if got := string(b.peek(1, 100)[0]); got != "first" {
		t.Errorf("buffered line = %q, want first", got)
	}
}

// A batch is at most n lines and about maxBytes, but at least one line
// however long.
func TestBuffer_PeekBoundsBatches(t *testing.T) {
	b := newBuffer(100, 1<<20)
	b.push([]byte(strings.Repeat("x", 100)))
	for range 10 {
		b.push([]byte("y"))
	}
	if got := len(b.peek(100, 10)); got != 1 {
		t.Errorf("batch of %d lines, want the one long line", got)
	}
	b.done(1)
	if got := len(b.peek(4, 1<<20)); got != 4 {
		t.Errorf("batch of %d lines, want 4", got)
	}
}

// Closed, the buffer takes nothing and counts what it held as dropped.
func TestBuffer_CloseDropsWhatIsLeft(t *testing.T) {
	b := newBuffer(10, 100)
	b.push([]byte("a"))
	b.push([]byte("b"))
	b.close()
	b.push([]byte("c"))
	b.done(1) // a sender that was sending meanwhile
	if n, _ := b.len(); n != 0 || b.dropped.Load() != 3 {
		t.Errorf("held %d, dropped %d; want 0, 3", n, b.dropped.Load())
	}
}
