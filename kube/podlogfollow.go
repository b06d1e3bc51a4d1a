package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway/slipway/supervisor"
)

// follower copies one pod's output into its app's log, stream after
// stream: each run of its container to its end, a stream cut while the
// container runs opened again.
type follower struct {
	l    *podLogs
	uid  types.UID
	name string
	in   podInstanceName
	log  *supervisor.AppLog
	mark time.Time // the kubelet's time of the last line written; lines up to it are dropped

	kick   chan struct{} // the pod changed
	cancel context.CancelFunc
	done   chan struct{} // closed once run has returned and podLogs knows
}

// Retries of a stream that failed, or that ended while its container
// runs after less than podLogShort: from 1 s, doubling to 30 s.
const (
	podLogBackoffMin = time.Second
	podLogBackoffMax = 30 * time.Second
	podLogShort      = 10 * time.Second
)

// podLogLine is where a long line is cut, as on one host (the
// supervisor's maxLine): a line without a newline is written in pieces
// of at most this, as it comes.
const podLogLine = 64 << 10

// podLogLookback bounds how far back a slipway that starts takes a pod's
// output it has no line of: an hour before it started.
const podLogLookback = time.Hour

func (f *follower) wake() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// run follows the pod until it is gone or its container ended for good
// (true: nothing more will come), or ctx ends (false).
func (f *follower) run(ctx context.Context) bool {
	if f.mark.IsZero() {
		f.mark = f.l.floor(f.in).Add(-time.Nanosecond)
	}
	f.previousRun(ctx)
	backoff := podLogBackoffMin
	drained := "" // the run of the container read to its end
	for ctx.Err() == nil {
		p := f.l.pod(f.name)
		if p == nil || p.UID != f.uid {
			return true
		}
		st, _ := containerStatus(p, f.in.container)
		run, running := runOf(st)
		if run == "" || run == drained && !running {
			if run != "" && ended(p) {
				return true
			}
			if !f.waitChange(ctx) {
				return false
			}
			continue
		}
		began := time.Now()
		err := f.stream(ctx)
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			f.l.logger.Warn("follow a pod's output", "app", f.in.app, "pod", f.name, "err", err, "retry", backoff.String())
			if !sleepCtx(ctx, backoff) {
				return false
			}
			backoff = min(2*backoff, podLogBackoffMax)
			continue
		}
		if p = f.l.pod(f.name); p == nil || p.UID != f.uid {
			return true
		}
		st, _ = containerStatus(p, f.in.container)
		now, stillRunning := runOf(st)
		switch {
		case stillRunning && now == run:
			// The API server or the kubelet ended the stream, or the
			// watch has not told yet that the container ended: open it
			// again (what came is dropped), never in a loop.
			if time.Since(began) < podLogShort {
				if !sleepCtx(ctx, backoff) {
					return false
				}
				backoff = min(2*backoff, podLogBackoffMax)
			} else {
				backoff = podLogBackoffMin
			}
		case !stillRunning:
			drained, backoff = now, podLogBackoffMin
		default: // a new run of the container: follow it at once
			backoff = podLogBackoffMin
		}
	}
	return false
}

// previousRun writes what the container's previous run printed after
// the mark, when that run ended after it: the lines of a run that ended
// while no follower ran (slipway restarting) are there only. A failure
// costs those lines, nothing more.
func (f *follower) previousRun(ctx context.Context) {
	p := f.l.pod(f.name)
	if p == nil || p.UID != f.uid {
		return
	}
	st, _ := containerStatus(p, f.in.container)
	// FinishedAt has whole seconds: a run that ended in the mark's second
	// may have printed after it (copy drops what was written).
	if last := st.LastTerminationState.Terminated; st.RestartCount == 0 || last == nil || last.FinishedAt.Time.Before(f.mark.Truncate(time.Second)) {
		return
	}
	since := metav1.NewTime(f.mark.Truncate(time.Second))
	rc, err := f.l.logs.Logs(ctx, f.name, corev1.PodLogOptions{Container: f.in.container, Previous: true, Timestamps: true, SinceTime: &since})
	if err != nil {
		f.l.logger.Debug("a pod's previous output", "app", f.in.app, "pod", f.name, "err", err)
		return
	}
	defer rc.Close()
	f.copy(rc)
}

// runOf names the container's current run (its restart count and start)
// and whether it runs; "" before it first started.
func runOf(st corev1.ContainerStatus) (string, bool) {
	switch {
	case st.State.Running != nil:
		return fmt.Sprint(st.RestartCount, st.State.Running.StartedAt.Unix()), true
	case st.State.Terminated != nil:
		return fmt.Sprint(st.RestartCount, st.State.Terminated.StartedAt.Unix()), false
	case st.LastTerminationState.Terminated != nil:
		return fmt.Sprint(st.RestartCount, st.LastTerminationState.Terminated.StartedAt.Unix()), false
	}
	return "", false
}

// ended reports whether p's container will not run again.
func ended(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed ||
		p.DeletionTimestamp != nil || p.Spec.RestartPolicy == corev1.RestartPolicyNever
}

// waitChange waits for the watch to tell of a change of the pod; false
// when ctx ended first.
func (f *follower) waitChange(ctx context.Context) bool {
	select {
	case <-f.kick:
		return true
	case <-ctx.Done():
		return false
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stream copies the container's output from the mark on, until the
// stream ends: nil when it ended cleanly (the container exited, or the
// API server closed it).
func (f *follower) stream(ctx context.Context) error {
	// The API takes whole seconds: the lines of that second already
	// written are dropped by their stamps.
	since := metav1.NewTime(f.mark.Truncate(time.Second))
	rc, err := f.l.logs.Logs(ctx, f.name, corev1.PodLogOptions{Container: f.in.container, Follow: true, Timestamps: true, SinceTime: &since})
	if err != nil {
		return err
	}
	defer rc.Close()
	return f.copy(rc)
}

// copy writes each line of r, "TIME TEXT\n" as the kubelet stamps them,
// into the app log with its time, but those up to the mark as it was
// when the stream began (CRI-O stamps all the lines of one read with one
// time: each is written). The mark moves once a line is whole (or the
// stream ended cleanly after it), so a line cut by a failed stream or in
// pieces is fetched again by the next stream, whole. A line longer
// than podLogLine is written in pieces as it comes, and the last one of a
// container that ended without a newline as it is; what a pod prints
// (binary, control characters) stays inside its own line, as on one
// host: a line ends at a newline, nowhere else.
func (f *follower) copy(r io.Reader) error {
	br := bufio.NewReaderSize(r, podLogLine)
	floor := f.mark
	cont, skip := false, false // the next chunk goes on with a cut line; which is dropped
	var at time.Time
	for {
		chunk, err := br.ReadSlice('\n')
		whole := len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		if whole || len(chunk) > 0 && (errors.Is(err, bufio.ErrBufferFull) || errors.Is(err, io.EOF)) {
			text := chunk
			if !cont {
				var ok bool
				if at, text, ok = stamped(chunk); !ok {
					at = time.Now() // no stamp: a kubelet always sends one
				}
				skip = !at.After(floor)
			}
			if !skip {
				f.log.LineAt(at, f.in.id, f.in.release, text)
				if (whole || errors.Is(err, io.EOF)) && at.After(f.mark) {
					f.mark = at
				}
			}
			cont = !whole
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
	}
}

// stamped splits a kubelet's line into its time and its text.
func stamped(line []byte) (time.Time, []byte, bool) {
	i := bytes.IndexByte(line, ' ')
	if i < 20 || i > 40 {
		return time.Time{}, line, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return time.Time{}, line, false
	}
	return t, line[i+1:], true
}
