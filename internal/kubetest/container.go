package kubetest

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/slipway/slipway/supervisor"
)

// container is one container of a pod: started, probed, started again
// or ended by its pod's restartPolicy. Its fields but spec are guarded by
// its pod's mu.
type container struct {
	p    *pod
	spec corev1.Container

	state, last corev1.ContainerState
	ready       bool
	restarts    int32
	final       bool // ended, and will not run again
	everStarted bool
	imageID     string // the digest of the image it runs
	process     *supervisor.Process
	streams     *stdio        // the running start's streams, with stdin or tty
	runDone     chan struct{} // closed when run returns; nil before

	stopOnce sync.Once
	stopCh   chan struct{}
	grace    time.Duration
}

// setWaiting sets the container waiting for reason; its pod's mu held.
func (c *container) setWaiting(reason, message string) {
	if c.state.Running == nil {
		c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
	}
}

// proc returns the running process, nil when none.
func (c *container) proc() *supervisor.Process {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.process
}

// stdio returns the running start's streams, nil when none runs or its
// spec has neither stdin nor tty.
func (c *container) stdio() *stdio {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.streams
}

// written returns a channel closed once all the running start wrote is in
// its log: when it exits, or once its streams' copy ended; nil when
// nothing runs.
func (c *container) written() <-chan struct{} {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	switch {
	case c.streams != nil:
		return c.streams.done
	case c.process != nil:
		return c.process.Exited()
	}
	return nil
}

// status is the container's status; its pod's mu held.
func (c *container) status() corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name: c.spec.Name, Image: c.spec.Image, ImageID: c.imageID, State: c.state, LastTerminationState: c.last,
		Ready: c.ready, RestartCount: c.restarts, Started: ptr.To(c.state.Running != nil), ContainerID: c.id(),
	}
}

// id names the container in its status.
func (c *container) id() string { return "runc://" + string(c.p.uid) + "-" + c.spec.Name }

// stop ends the container (SIGTERM, SIGKILL after grace) and waits until
// it has.
func (c *container) stop(grace time.Duration) {
	c.stopOnce.Do(func() {
		c.p.mu.Lock()
		c.grace = grace
		c.p.mu.Unlock()
		close(c.stopCh)
	})
	c.p.mu.Lock()
	done := c.runDone
	c.p.mu.Unlock()
	if done != nil {
		<-done
	}
}

// start starts run in the background.
func (c *container) start(obj *corev1.Pod, s supervisor.Spec) {
	c.p.mu.Lock()
	if c.runDone != nil {
		c.p.mu.Unlock()
		return
	}
	c.runDone = make(chan struct{})
	c.p.mu.Unlock()
	go c.run(obj, s)
}

// run starts the container, watches it and, as the pod's restartPolicy
// says, starts it again after a backoff, until it is stopped or ends for
// good.
func (c *container) run(obj *corev1.Pod, s supervisor.Spec) {
	defer close(c.runDone)
	rec := c.p.n.record
	backoff := c.p.n.cfg.Backoff
	for {
		var st *stdio
		var err error
		if c.spec.Stdin || c.spec.TTY { // see stdio.go
			st, s.Stdio, err = newStdio(c.spec, s.LogPath)
		}
		var proc *supervisor.Process
		if err == nil {
			proc, err = supervisor.Start(s)
			if st != nil {
				st.started(err == nil)
			}
		}
		if err != nil {
			c.p.mu.Lock()
			c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}}
			c.p.mu.Unlock()
			rec.Eventf(obj, corev1.EventTypeWarning, "Failed", "Error: %v", err)
			c.p.changed()
			if !c.pause(&backoff) {
				return
			}
			continue
		}
		started := metav1.Now()
		c.p.mu.Lock()
		c.process, c.streams, c.everStarted, c.ready = proc, st, true, false
		c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
		c.p.mu.Unlock()
		rec.Eventf(obj, corev1.EventTypeNormal, "Started", "Started container %s", c.spec.Name)
		c.p.changed()

		end := c.watch(obj, proc)
		stopped := end == endStopped
		c.p.mu.Lock()
		grace := c.grace
		c.p.mu.Unlock()
		if end == endUnhealthy {
			rec.Eventf(obj, corev1.EventTypeNormal, "Killing", "Container %s failed liveness probe, will be restarted", c.spec.Name)
			grace = podGrace(obj)
		}
		proc.Stop(grace) // after an exit, removes what it left
		if st != nil {
			st.finish() // nothing writes its streams any more
		}
		code, reason := exitStatus(proc)
		restart := !stopped && (obj.Spec.RestartPolicy == corev1.RestartPolicyAlways || obj.Spec.RestartPolicy == "" ||
			obj.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && code != 0)
		c.p.mu.Lock()
		c.process, c.streams, c.ready = nil, nil, false
		c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, StartedAt: started, FinishedAt: metav1.Now(), ContainerID: c.id()}}
		c.final = !stopped && !restart
		if restart {
			c.last = c.state
			c.restarts++
			c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container %s", backoff, c.spec.Name)}}
		}
		c.p.mu.Unlock()
		if !restart {
			c.p.checkEnded()
			c.p.changed()
			return
		}
		rec.Eventf(obj, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s", c.spec.Name)
		c.p.changed()
		if !c.pause(&backoff) {
			return
		}
	}
}

// pause waits out the backoff, doubling it, and reports whether the
// container is to start again (it was not stopped meanwhile).
func (c *container) pause(backoff *time.Duration) bool {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	*backoff = min(2**backoff, 16*c.p.n.cfg.Backoff)
	select {
	case <-t.C:
		return true
	case <-c.stopCh:
		return false
	}
}

// How a container's watch ended.
const (
	endExited    = iota // the container exited
	endStopped          // it is to stop: its pod is deleted, or the node stops
	endUnhealthy        // its liveness probe failed: it is to be killed
)

// watch runs the container's readiness and liveness probes while it
// runs, and returns once it exits, is to stop or failed its liveness
// probe. Without a readiness probe it is ready once started.
func (c *container) watch(obj *corev1.Pod, proc *supervisor.Process) int {
	readiness := newProber(c.spec.ReadinessProbe)
	liveness := newProber(c.spec.LivenessProbe)
	defer readiness.stop()
	defer liveness.stop()
	if c.spec.ReadinessProbe == nil {
		c.setReady(true)
	}
	for {
		select {
		case <-proc.Exited():
			return endExited
		case <-c.stopCh:
			return endStopped
		case <-readiness.c():
			if ok, changed := readiness.run(c, obj, "Readiness"); changed {
				c.setReady(ok)
			}
		case <-liveness.c():
			if ok, changed := liveness.run(c, obj, "Liveness"); changed && !ok {
				return endUnhealthy
			}
		}
	}
}

func (c *container) setReady(ready bool) {
	c.p.mu.Lock()
	was := c.ready
	c.ready = ready
	c.p.mu.Unlock()
	if was != ready {
		c.p.changed()
	}
}

// exitStatus is the exit code and reason of an ended container, as
// kubelet reports them: runc's exit status is its container's, 128+N for
// a signal N.
func exitStatus(proc *supervisor.Process) (int32, string) {
	err := proc.Err()
	if err == nil {
		return 0, "Completed"
	}
	reason := "Error"
	if strings.Contains(proc.ExitText(), "out of memory") {
		reason = "OOMKilled"
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int32(ws.Signal()), reason
		}
		return int32(exit.ExitCode()), reason
	}
	return 128, reason
}
