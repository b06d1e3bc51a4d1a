package releaser

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/slipway/slipway"
)

// Promote makes the draining pool that serves release target live again
// as release v (a rollback to a warm pool), after a quick check that its
// instances still answer. It reports false, changing nothing, when there
// is no such warm pool; the caller then starts a fresh one with Release.
func (r *Releaser) Promote(ctx context.Context, name string, target, v slipway.Version, out io.Writer) (bool, error) {
	a := r.app(name)
	a.mu.Lock()
	var p *pool
	for _, d := range a.draining {
		if d.version == target {
			p = d
		}
	}
	a.mu.Unlock()
	if p == nil || !p.sleepingSince().IsZero() {
		return false, nil // none, or asleep: a fresh pool starts as fast
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, s := range p.members() {
		if err := waitListening(ctx, probeTarget(s), false); err != nil || !s.route.Healthy() {
			fmt.Fprintf(out, "       %s of %s does not answer: starting a fresh pool\n", s.id, target)
			return false, nil
		}
	}
	a.mu.Lock()
	i := -1
	for j, d := range a.draining {
		if d == p {
			i = j
		}
	}
	if i < 0 { // retired meanwhile
		a.mu.Unlock()
		return false, nil
	}
	a.draining = append(a.draining[:i:i], a.draining[i+1:]...)
	a.mu.Unlock()
	// The pool now serves as release v: the target's own record ends here,
	// or the history would show it draining for ever.
	r.cfg.Recorder.Retired(name, target)
	r.cfg.Recorder.Instances(name, target, nil)
	p.version = v
	spec := p.spec
	spec.Version = v
	if err := r.switchTo(a, p); err != nil {
		a.mu.Lock()
		a.draining = append(a.draining, p)
		a.mu.Unlock()
		return false, err
	}
	r.swapWorkers(a, spec, v, out)
	return true, nil
}
