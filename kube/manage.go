package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// ReleasePhase runs the Procfile's release command as the Job
// NAME-vN-release, to its end, before any pod of the release starts; its
// output goes to out. A failure aborts the deploy.
func (s *Scheduler) ReleasePhase(ctx context.Context, spec releaser.Spec, out io.Writer) error {
	command, ok := spec.Procfile.Command("release")
	if !ok {
		return nil
	}
	a := s.app(spec.App)
	s.claim(a, spec.Version, true)
	defer s.claim(a, spec.Version, false)
	fmt.Fprintf(out, "-----> Running release command: %s\n", command)
	ctx, cancel := context.WithTimeout(ctx, s.rc.DeployTimeout)
	defer cancel()
	image, limits, err := s.prepare(ctx, spec)
	if err != nil {
		return err
	}
	name := ReleaseJobName(spec.App, spec.Version)
	jobs := s.client.BatchV1().Jobs(s.ns)
	bg := metav1.DeletePropagationBackground
	if cur, err := jobs.Get(ctx, name, metav1.GetOptions{}); err == nil && managed(cur) { // one cut off before
		jobs.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
		s.waitGone(ctx, func(ctx context.Context) error { _, err := jobs.Get(ctx, name, metav1.GetOptions{}); return err })
	}
	j := s.job(spec, name, image, ProcessRelease, command, limitsOf(limits, ProcessRelease), int64(s.rc.DeployTimeout.Seconds()))
	if _, err := jobs.Create(ctx, j, metav1.CreateOptions{}); err != nil {
		return kubeErr("create Job "+name, err)
	}
	ok, err = s.waitJob(ctx, name)
	s.jobOutput(name, out)
	jobs.Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil {
		s.removeRelease(context.WithoutCancel(ctx), spec.App, spec.Version)
		return slipway.Errorf(slipway.EINVALID, "release command timed out after %s: the deploy is aborted", s.rc.DeployTimeout)
	}
	if !ok {
		s.removeRelease(context.WithoutCancel(ctx), spec.App, spec.Version)
		return slipway.Errorf(slipway.EINVALID, "release command failed: the deploy is aborted and the live release keeps serving")
	}
	return nil
}

// waitJob waits for Job name to end: true when it succeeded.
func (s *Scheduler) waitJob(ctx context.Context, name string) (bool, error) {
	succeeded := false
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		j, err := s.client.BatchV1().Jobs(s.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range j.Status.Conditions {
			if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
				succeeded = c.Type == batchv1.JobComplete
				return true, nil
			}
		}
		return false, nil
	})
	return succeeded, err
}

// jobOutput copies the last lines of Job name's pods to out.
func (s *Scheduler) jobOutput(name string, out io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := s.client.CoreV1().Pods(s.ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + name})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		for _, line := range s.logTail(ctx, p.Name, 200) {
			fmt.Fprintf(out, "       %s\n", line)
		}
		if line := podState(&p); p.Status.Phase == corev1.PodFailed {
			fmt.Fprintf(out, "       %s: %s\n", p.Name, line)
		}
	}
}

// waitGone waits until get says NotFound, or ctx ends.
func (s *Scheduler) waitGone(ctx context.Context, get func(context.Context) error) {
	poll(ctx, func(ctx context.Context) (bool, error) { return apierrors.IsNotFound(get(ctx)), nil })
}

// Promote never reuses a draining release's pods on a cluster: a
// rollback starts the release NAME-vN of its own (the image is there, so
// it starts as fast as the pods do).
func (s *Scheduler) Promote(context.Context, string, slipway.Version, slipway.Version, io.Writer) (bool, error) {
	return false, nil
}

// liveSpec returns app's live release, or an error a user can act on.
func (s *Scheduler) liveSpec(name, what string) (releaser.Spec, error) {
	a := s.app(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.live == 0 {
		return releaser.Spec{}, slipway.Errorf(slipway.ENOTFOUND, "%s has nothing running to %s: deploy it first", name, what)
	}
	return a.spec, nil
}

// Restart rolls the live release's pods one at a time: a new pod is
// Ready before an old one goes.
func (s *Scheduler) Restart(ctx context.Context, name string, out io.Writer) error {
	spec, err := s.liveSpec(name, "restart")
	if err != nil {
		return err
	}
	patch := fmt.Appendf(nil, `{"spec":{"template":{"metadata":{"annotations":{"slipway.dev/restarted-at":%q}}}}}`, time.Now().UTC().Format(time.RFC3339Nano))
	ctx, cancel := context.WithTimeout(ctx, s.rc.DeployTimeout)
	defer cancel()
	deps, err := s.client.AppsV1().Deployments(s.ns).List(ctx, metav1.ListOptions{LabelSelector: releaseSelector(name, spec.Version)})
	if err != nil {
		return kubeErr("list Deployments", err)
	}
	for _, d := range deps.Items {
		if _, err := s.client.AppsV1().Deployments(s.ns).Patch(ctx, d.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return kubeErr("restart "+d.Name, err)
		}
		fmt.Fprintf(out, "-----> Restarting %s\n", d.Name)
	}
	for _, d := range deps.Items {
		if err := s.waitReady(ctx, d.Name); err != nil {
			return s.explain(spec, d.Name, err, out)
		}
	}
	fmt.Fprintf(out, "-----> %s restarted\n", name)
	return nil
}

// CheckScale says whether typ=n is a scale the live release can take.
func (s *Scheduler) CheckScale(name, typ string, n int) error {
	if n < 0 || n > releaser.MaxScale || (typ == "web" && n < 1) {
		low := 0
		if typ == "web" {
			low = 1
		}
		return slipway.Errorf(slipway.EINVALID, "%s=%d: use %d to %d", typ, n, low, releaser.MaxScale)
	}
	spec, err := s.liveSpec(name, "scale")
	if err != nil {
		return err
	}
	if _, ok := spec.Procfile.Command(typ); !ok && typ != "web" {
		return slipway.Errorf(slipway.EINVALID, "%s %s has no process type %q in its Procfile", name, spec.Version, typ)
	}
	return nil
}

// Scale sets the live release's pods of typ to n, and waits for the web
// pods to be Ready.
func (s *Scheduler) Scale(ctx context.Context, name, typ string, n int, out io.Writer) error {
	if err := s.CheckScale(name, typ, n); err != nil {
		return err
	}
	a := s.app(name)
	s.mu.Lock()
	if a.scale == nil {
		a.scale = map[string]int{}
	}
	a.scale[typ] = n
	a.spec.Scale = a.scale
	spec := a.spec
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.rc.DeployTimeout)
	defer cancel()
	dname := DeploymentName(name, spec.Version, typ)
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
	_, err := s.client.AppsV1().Deployments(s.ns).Patch(ctx, dname, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) && n > 0 { // a worker scaled up from 0
		image, limits, ierr := s.imageAndLimits(ctx, spec)
		if ierr != nil {
			return ierr
		}
		command, _ := spec.Procfile.Command(typ)
		err = s.ensureDeployment(ctx, s.deployment(spec, image, typ, command, n, limitsOf(limits, typ)))
	} else if apierrors.IsNotFound(err) {
		err = nil
	}
	if err != nil {
		return kubeErr("scale "+dname, err)
	}
	fmt.Fprintf(out, "-----> %s: %s=%d\n", dname, typ, n)
	if typ == "web" {
		if err := s.waitReady(ctx, dname); err != nil {
			return s.explain(spec, dname, err, out)
		}
	}
	return nil
}

// RunOneOff runs argv once as a pod of spec's release and returns its
// exit status; the pod goes when it ends, or when the caller goes. The
// caller's input reaches it through an attach (its stdin closes when the
// caller's does). Without a terminal its output is its log, followed to
// its end, so that nothing it wrote before the attach is lost. With one
// (run -t) the pod has a terminal of the caller's size, following its
// resizes, and its output comes through the attach: argv waits behind a
// line slipway sends once attached (ttyGate), as a Heroku one-off dyno
// waits for its client, so that a shell's first prompt is not lost.
func (s *Scheduler) RunOneOff(ctx context.Context, spec releaser.Spec, id string, argv []string, t slipway.Terminal) (int, error) {
	image, limits, err := s.prepare(ctx, spec)
	if err != nil {
		return 0, err
	}
	ps := s.podSpec(spec, image, ProcessRun, "", limitsOf(limits, ProcessRun), corev1.RestartPolicyNever)
	c := &ps.Containers[0]
	c.Command = argv
	if t.Stdin == nil && t.Pty {
		t.Stdin = strings.NewReader("")
	}
	input := t.Stdin != nil // none: the pod has no stdin, and no attach
	c.Stdin, c.StdinOnce, c.TTY = input, input, t.Pty
	if t.Pty {
		c.Command = append([]string{"/bin/sh", "-c", ttyGate, "run"}, argv...)
		term := t.Term
		if term == "" {
			term = "xterm"
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: "TERM", Value: term})
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: spec.App + "-" + spec.Version.String() + "-" + sanitizeID(id) + "-", Namespace: s.ns,
			Labels: s.labels(spec.App, spec.Version, ProcessRun)},
		Spec: ps,
	}
	pods := s.client.CoreV1().Pods(s.ns)
	pod, err = pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return 0, kubeErr("create a pod to run in", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(1))})
	}()
	started, err := s.waitPod(ctx, pod.Name, func(p *corev1.Pod) bool { return p.Status.Phase != corev1.PodPending })
	if err != nil {
		return 0, err
	}
	if started.Status.Phase == corev1.PodRunning {
		streams := AttachStreams{Stdin: t.Stdin}
		opts := AttachOptions{Container: ProcessRun, Stdin: true}
		if t.Pty {
			opts.Stdout, opts.TTY = true, true
			streams.Stdin = io.MultiReader(strings.NewReader("\n"), t.Stdin) // through the gate
			streams.Stdout = t.Stdout
			streams.Size = TerminalSize{Width: uint16(t.Size.Cols), Height: uint16(t.Size.Rows)}
			if t.Resize != nil {
				fwd, stop := context.WithCancel(ctx)
				defer stop()
				streams.Resize = terminalSizes(fwd, t.Resize)
			}
			if err := pods.Attach(ctx, pod.Name, opts, streams); err != nil && !isExitCode(err) {
				return 0, kubeErr("attach to the run's pod", err)
			}
		} else {
			// The attach ends before RunOneOff returns: the caller's
			// writers are not to be written after (an admin API answer's
			// is gone then), nor at once by two goroutines.
			var mu sync.Mutex
			actx, stopAttach := context.WithCancel(ctx)
			attached := make(chan error, 1)
			go func() {
				if !input {
					attached <- nil
					return
				}
				err := pods.Attach(actx, pod.Name, opts, streams)
				if apierrors.IsForbidden(err) && t.Stderr != nil {
					mu.Lock()
					fmt.Fprintf(t.Stderr, "slipway: the run's input cannot reach its pod: slipway may not attach (kubectl apply -f docs/kubernetes/rbac.yaml gives it pods/attach)\n")
					mu.Unlock()
				}
				attached <- err
			}()
			if rc, err := pods.Logs(ctx, pod.Name, corev1.PodLogOptions{Follow: true}); err == nil {
				io.Copy(lockedWriter{&mu, t.Stdout}, rc)
				rc.Close()
			}
			stopAttach() // the pod ended: its input has nowhere to go
			if err := <-attached; err != nil && !isExitCode(err) && actx.Err() == nil {
				s.logger.Debug("the run's input could not reach its pod", "app", spec.App, "pod", pod.Name, "err", err)
			}
		}
	} else if started.Status.Phase == corev1.PodSucceeded || started.Status.Phase == corev1.PodFailed {
		if rc, err := pods.Logs(ctx, pod.Name, corev1.PodLogOptions{}); err == nil {
			io.Copy(t.Stdout, rc)
			rc.Close()
		}
	}
	ended, err := s.waitPod(ctx, pod.Name, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	if err != nil {
		return 0, err
	}
	for _, c := range ended.Status.ContainerStatuses {
		if term := c.State.Terminated; term != nil {
			return int(term.ExitCode), nil
		}
	}
	if ended.Status.Phase == corev1.PodSucceeded {
		return 0, nil
	}
	return 0, fmt.Errorf("the run's pod %s failed: %s", pod.Name, podState(ended))
}

// ttyGate is the shell line that holds a run -t's command until slipway
// has attached and sent a line (not echoed); then the command replaces
// the shell. It needs the image's /bin/sh, as Procfile commands do.
const ttyGate = `stty -echo 2>/dev/null; read -r _; stty echo 2>/dev/null; exec "$@"`

// terminalSizes passes the caller's terminal sizes on as an attach
// takes them, until ctx ends or the caller's channel closes.
func terminalSizes(ctx context.Context, in <-chan slipway.WindowSize) <-chan TerminalSize {
	out := make(chan TerminalSize)
	go func() {
		for {
			var sz slipway.WindowSize
			var ok bool
			select {
			case <-ctx.Done():
				return
			case sz, ok = <-in:
				if !ok { // the session said its last
					return
				}
			}
			select {
			case out <- TerminalSize{Width: uint16(sz.Cols), Height: uint16(sz.Rows)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// lockedWriter writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// isExitCode reports whether err only says the command's exit status,
// which the pod's status tells too.
func isExitCode(err error) bool {
	var code ErrExitCode
	return errors.As(err, &code)
}

// waitPod waits until pod name satisfies done, and returns it.
func (s *Scheduler) waitPod(ctx context.Context, name string, done func(*corev1.Pod) bool) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		p, err := s.client.CoreV1().Pods(s.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("the run's pod %s is gone", name)
		}
		pod = p
		return err == nil && done(p), nil
	})
	return pod, err
}

// RunDetached runs command once as a Job of the live release, its output
// in the pod's log.
func (s *Scheduler) RunDetached(spec releaser.Spec, id, command string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	image, limits, err := s.prepare(ctx, spec)
	if err != nil {
		return err
	}
	name := spec.App + "-" + spec.Version.String() + "-" + sanitizeID(id)
	j := s.job(spec, name, image, ProcessRun, command, limitsOf(limits, ProcessRun), int64(24*3600))
	_, err = s.client.BatchV1().Jobs(s.ns).Create(ctx, j, metav1.CreateOptions{})
	return kubeErr("create Job "+name, err)
}

// sanitizeID turns run.3 into run-3, a name Kubernetes takes.
func sanitizeID(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// Forget ends every pod of app (ps:stop, apps:destroy): its objects go,
// and its ConfigMap names no live release, so that the routers answer
// that it is stopped. Destroyed then removes the ConfigMap.
func (s *Scheduler) Forget(name string) {
	a := s.app(name)
	s.mu.Lock()
	a.live, a.draining, a.spec = 0, nil, releaser.Spec{}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.publish(ctx, a); err != nil {
		s.logger.Error("tell the routers the app stopped", "app", name, "err", err)
	}
	s.removeSelected(ctx, appSelector(name))
}

// Destroyed removes what is left of app: its ConfigMap (the routers then
// answer that there is no such app).
func (s *Scheduler) Destroyed(name string) {
	s.mu.Lock()
	delete(s.apps, name)
	s.mu.Unlock()
	s.podLogs.forget(name)    // no pod's line after the log is closed
	s.rc.AppLogs.Forget(name) // its file goes with the app's directory
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cms := s.client.CoreV1().ConfigMaps(s.ns)
	if cm, err := cms.Get(ctx, AppConfigMap(name), metav1.GetOptions{}); err == nil && managed(cm) {
		cms.Delete(ctx, cm.Name, metav1.DeleteOptions{})
	}
}
