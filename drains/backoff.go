package drains

import (
	"math/rand/v2"
	"time"
)

// Retries wait from DefaultMinBackoff, doubling up to DefaultMaxBackoff.
const (
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// backoff is the wait between a drain's failed attempts: exponential,
// capped, with jitter so that the drains of many apps on one receiver
// that went down do not all come back at once.
type backoff struct{ failures int }

// next returns how long to wait after one more failure: a random time
// between half and all of lo·2^failures, capped at hi.
func (b *backoff) next(lo, hi time.Duration) time.Duration {
	d := hi
	if b.failures < 32 && lo<<b.failures < hi {
		d = lo << b.failures
	}
	b.failures++
	return d/2 + rand.N(d/2+1)
}

// reset starts over after a success.
func (b *backoff) reset() { b.failures = 0 }
