package kubetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/slipway/slipway/supervisor"
)

// pod is the node's worker for one pod: it sets the pod up, runs its
// containers (container.go), reports its status and ends it.
type pod struct {
	n               *Node
	namespace, name string
	uid             types.UID
	kick            chan struct{}
	statusKick      chan struct{}

	mu       sync.Mutex
	net      *podNet
	started  time.Time
	ctrs     []*container
	setupErr string // why the pod's containers do not run yet
	ended    bool   // its phase is Succeeded or Failed: it runs no more
	condAt   map[corev1.PodConditionType]condition
}

type condition struct {
	status corev1.ConditionStatus
	at     metav1.Time
}

func newPod(n *Node, p *corev1.Pod) *pod {
	return &pod{n: n, namespace: p.Namespace, name: p.Name, uid: p.UID,
		kick: make(chan struct{}, 1), statusKick: make(chan struct{}, 1), condAt: map[corev1.PodConditionType]condition{}}
}

// wake tells the worker the pod changed.
func (p *pod) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// changed tells the status writer to report the pod's status.
func (p *pod) changed() {
	select {
	case p.statusKick <- struct{}{}:
	default:
	}
}

func (p *pod) current() *corev1.Pod { return p.n.current(p.namespace, p.name, p.uid) }

// run is the pod's life on the node: set up and started, until it is
// deleted (or the node stops), then ended and its object deleted.
func (p *pod) run() {
	ctx, cancel := context.WithCancel(p.n.ctx)
	defer cancel()
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		p.writeStatus(ctx)
	}()
	defer func() { <-statusDone }()
	defer cancel()

	obj := p.current()
	if obj == nil {
		return
	}
	if obj.DeletionTimestamp != nil {
		p.deleteObject(obj) // never ran here
		return
	}
	p.mu.Lock()
	p.started = time.Now()
	p.mu.Unlock()
	p.changed()
	backoff := p.n.cfg.Backoff
	for !p.setup(ctx, obj) {
		p.backOff(obj)
		if obj = p.await(ctx, backoff); obj == nil {
			return
		}
		backoff = min(2*backoff, 16*p.n.cfg.Backoff)
	}
	for {
		select {
		case <-ctx.Done(): // the node stops: as if it were lost
			p.teardown(0)
			return
		case <-p.kick:
		}
		obj = p.current()
		if obj == nil {
			p.teardown(0)
			return
		}
		if obj.DeletionTimestamp != nil {
			p.terminate(obj)
			p.teardown(0)
			p.deleteObject(obj)
			return
		}
	}
}

// await waits out a backoff before the pod's setup is tried again, and
// returns the pod then; nil when it was deleted meanwhile (and its object
// is gone) or the node stops.
func (p *pod) await(ctx context.Context, backoff time.Duration) *corev1.Pod {
	t := time.NewTimer(backoff)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.teardown(0)
			return nil
		case <-t.C:
			if obj := p.current(); obj != nil && obj.DeletionTimestamp == nil {
				return obj
			}
		case <-p.kick: // also each status this node writes
		}
		if obj := p.current(); obj == nil || obj.DeletionTimestamp != nil {
			p.teardown(0)
			if obj != nil {
				p.deleteObject(obj)
			}
			return nil
		}
	}
}

// backOff reports a pull that failed as kubelet does while it waits to
// try again: ImagePullBackOff.
func (p *pod) backOff(obj *corev1.Pod) {
	p.mu.Lock()
	pulling := p.setupErr == "ErrImagePull"
	if pulling {
		for _, c := range p.ctrs {
			if w := c.state.Waiting; w != nil && w.Reason == "ErrImagePull" {
				c.state.Waiting = &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: w.Message}
			}
		}
	}
	p.mu.Unlock()
	if pulling {
		p.n.record.Eventf(obj, corev1.EventTypeNormal, "BackOff", "Back-off pulling image")
		p.changed()
	}
}

// setup makes the pod's network, pulls its images and starts its
// containers; on an error it reports why in the pod's status and
// returns false, to be tried again.
func (p *pod) setup(ctx context.Context, obj *corev1.Pod) bool {
	fail := func(reason string, err error) bool {
		p.mu.Lock()
		p.setupErr = reason
		for _, c := range p.ctrs {
			c.setWaiting(reason, err.Error())
		}
		p.mu.Unlock()
		p.n.record.Event(obj, corev1.EventTypeWarning, "Failed", err.Error())
		p.changed()
		return false
	}
	if p.ctrs == nil {
		var ctrs []*container
		for i := range obj.Spec.Containers {
			ctrs = append(ctrs, &container{p: p, spec: obj.Spec.Containers[i], stopCh: make(chan struct{}), state: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}})
		}
		p.mu.Lock()
		p.ctrs = ctrs
		p.mu.Unlock()
	}
	if p.net == nil {
		pn, err := newPodNet(ctx, string(p.uid), filepath.Join(p.n.dir, "netns"))
		if err != nil {
			return fail("CreatePodSandboxError", err)
		}
		p.mu.Lock()
		p.net = pn
		p.mu.Unlock()
	}
	specs := make([]supervisor.Spec, len(p.ctrs))
	for i, c := range p.ctrs {
		if c.proc() != nil {
			continue
		}
		img, err := p.n.pull(ctx, obj, c.spec.Image)
		if err != nil {
			p.mu.Lock()
			c.setWaiting("ErrImagePull", err.Error())
			p.mu.Unlock()
			return fail("ErrImagePull", err)
		}
		p.n.record.Eventf(obj, corev1.EventTypeNormal, "Pulled", "Container image %q: %s", c.spec.Image, img.digest)
		p.mu.Lock()
		c.imageID = img.digest
		p.mu.Unlock()
		if specs[i], err = p.containerSpec(ctx, obj, c, img); err != nil {
			return fail("CreateContainerConfigError", err)
		}
	}
	p.mu.Lock()
	p.setupErr = ""
	p.mu.Unlock()
	for i, c := range p.ctrs {
		if c.proc() == nil {
			c.start(obj, specs[i])
		}
	}
	return true
}

// terminate ends a pod being deleted as kubelet does: each container's
// preStop sleep, then SIGTERM, and SIGKILL once the pod's grace period
// (counted from the start of the preStop) is over.
func (p *pod) terminate(obj *corev1.Pod) {
	deadline := time.Now().Add(podGrace(obj))
	p.n.record.Eventf(obj, corev1.EventTypeNormal, "Killing", "Stopping the pod's containers")
	var wg sync.WaitGroup
	for _, c := range p.ctrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l := c.spec.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil && c.proc() != nil {
				select {
				case <-time.After(time.Duration(l.PreStop.Sleep.Seconds) * time.Second):
				case <-time.After(time.Until(deadline)):
				}
			}
			c.stop(max(time.Until(deadline), 0))
		}()
	}
	wg.Wait()
}

// podGrace is how long the pod's containers have to end once told to.
func podGrace(obj *corev1.Pod) time.Duration {
	switch {
	case obj.DeletionGracePeriodSeconds != nil:
		return time.Duration(*obj.DeletionGracePeriodSeconds) * time.Second
	case obj.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*obj.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// teardown stops what runs (with grace) and removes the pod's network.
func (p *pod) teardown(grace time.Duration) {
	for _, c := range p.ctrs {
		c.stop(grace)
	}
	p.mu.Lock()
	pn := p.net
	p.net = nil
	p.mu.Unlock()
	if pn != nil {
		pn.remove()
	}
}

// deleteObject deletes the pod's object for good, as kubelet does once
// its containers are gone (grace period 0, this pod's UID only).
func (p *pod) deleteObject(obj *corev1.Pod) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.n.c.Clientset.CoreV1().Pods(p.namespace).Delete(ctx, p.name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(string(obj.UID))})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		fmt.Fprintf(os.Stderr, "kubetest: delete pod %s/%s: %v\n", p.namespace, p.name, err)
	}
}

// ended reports a pod whose containers all ended and will not run again:
// its phase is Succeeded or Failed then, and its network goes.
func (p *pod) checkEnded() {
	p.mu.Lock()
	all := len(p.ctrs) > 0
	for _, c := range p.ctrs {
		all = all && c.final
	}
	already := p.ended
	p.ended = all
	pn := p.net
	if all {
		p.net = nil
	}
	p.mu.Unlock()
	if all && !already && pn != nil {
		pn.remove()
	}
}

// writeStatus reports the pod's status each time it changes, until ctx
// ends.
func (p *pod) writeStatus(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.statusKick:
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			obj, err := p.n.c.Clientset.CoreV1().Pods(p.namespace).Get(ctx, p.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if obj.UID != p.uid {
				return nil
			}
			obj.Status = p.status(obj)
			_, err = p.n.c.Clientset.CoreV1().Pods(p.namespace).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
			return err
		})
		if err != nil && !apierrors.IsNotFound(err) && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "kubetest: status of pod %s/%s: %v\n", p.namespace, p.name, err)
		}
	}
}

// status is the pod's status as kubelet reports it.
func (p *pod) status(obj *corev1.Pod) corev1.PodStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := corev1.PodStatus{HostIP: "127.0.0.1", HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}}, QOSClass: obj.Status.QOSClass}
	if !p.started.IsZero() {
		st.StartTime = ptr.To(metav1.NewTime(p.started))
	}
	if p.net != nil {
		st.PodIP, st.PodIPs = p.net.ip, []corev1.PodIP{{IP: p.net.ip}}
	} else if p.ended {
		st.PodIP, st.PodIPs = obj.Status.PodIP, obj.Status.PodIPs // kubelet keeps it
	}
	ready, running, final, failed := true, 0, 0, false
	for _, c := range p.ctrs {
		cs := c.status()
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		ready = ready && cs.Ready
		if cs.State.Running != nil {
			running++
		}
		if c.final {
			final++
			failed = failed || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0
		}
	}
	switch {
	case len(p.ctrs) > 0 && final == len(p.ctrs) && failed:
		st.Phase = corev1.PodFailed
	case len(p.ctrs) > 0 && final == len(p.ctrs):
		st.Phase = corev1.PodSucceeded
	case running > 0 || p.anyStarted():
		st.Phase = corev1.PodRunning
	default:
		st.Phase = corev1.PodPending
	}
	ready = ready && len(p.ctrs) > 0 && st.Phase == corev1.PodRunning
	cond := func(typ corev1.PodConditionType, ok bool, reason string) {
		s := corev1.ConditionFalse
		if ok {
			s, reason = corev1.ConditionTrue, ""
		}
		c, seen := p.condAt[typ]
		if !seen || c.status != s {
			c = condition{status: s, at: metav1.Now()}
			p.condAt[typ] = c
		}
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: typ, Status: s, Reason: reason, LastTransitionTime: c.at})
	}
	cond(corev1.PodReadyToStartContainers, p.net != nil, "")
	cond(corev1.PodInitialized, true, "")
	cond(corev1.ContainersReady, ready, "ContainersNotReady")
	cond(corev1.PodReady, ready, "ContainersNotReady")
	cond(corev1.PodScheduled, true, "")
	return st
}

// anyStarted reports whether a container of the pod ever started.
func (p *pod) anyStarted() bool {
	for _, c := range p.ctrs {
		if c.everStarted {
			return true
		}
	}
	return false
}

// podDir is where the pod's files are: its containers' TMPDIRs and
// emptyDir volumes.
func (p *pod) podDir() string { return filepath.Join(p.n.dir, "pods", string(p.uid)) }

// logDir is where its containers' logs are, one file each.
func (p *pod) logDir() string {
	return filepath.Join(p.n.dir, "logs", p.namespace+"_"+p.name+"_"+string(p.uid))
}
