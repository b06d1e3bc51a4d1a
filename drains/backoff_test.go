package drains

import (
	"testing"
	"time"
)

// Waits double from min up to max, each between half and all of its
// step, and start over after a success.
func TestBackoff_DoublesWithJitterUpToTheCap(t *testing.T) {
	var b backoff
	lo, hi := 250*time.Millisecond, 30*time.Second
	step := lo
	for i := range 40 {
		d := b.next(lo, hi)
		if d < step/2 || d > step {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, d, step/2, step)
		}
		step = min(2*step, hi)
	}
	b.reset()
	if d := b.next(lo, hi); d > lo {
		t.Errorf("first wait after a reset = %v, want at most %v", d, lo)
	}
}
