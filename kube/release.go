package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// Release runs spec in the cluster and makes it live: its config Secret
// and its web Deployment NAME-vN; once every pod of it is Ready, the
// history records it live, then one update of the app's ConfigMap
// switches every router replica; the release it replaces drains (see
// drain.go). Workers and cron jobs follow the switch. A release whose
// pods do not all become Ready within the deploy timeout is rejected
// with what its pods said, and its objects are removed: the live release
// keeps serving.
func (s *Scheduler) Release(ctx context.Context, spec releaser.Spec, out io.Writer) error {
	if spec.StaticDir != "" {
		return slipway.Errorf(slipway.EINVALID, "a static site is served by slipway's own router only: on Kubernetes, give it a web process in a Procfile")
	}
	if err := releaser.CheckCron(spec); err != nil {
		return err
	}
	a := s.app(spec.App)
	s.claim(a, spec.Version, true)
	defer s.claim(a, spec.Version, false)
	ctx, cancel := context.WithTimeout(ctx, s.rc.DeployTimeout)
	defer cancel()
	if err := s.startWeb(ctx, spec, out); err != nil {
		s.removeRelease(context.WithoutCancel(ctx), spec.App, spec.Version)
		return err
	}
	if err := s.rc.Recorder.Live(spec.App, spec.Version, spec, nil); err != nil {
		s.removeRelease(context.WithoutCancel(ctx), spec.App, spec.Version)
		return fmt.Errorf("record %s %s as live: %w", spec.App, spec.Version, err)
	}
	s.mu.Lock()
	old := a.live
	a.live, a.spec, a.since, a.scale = spec.Version, spec, time.Now(), spec.Scale
	if old != 0 && old != spec.Version {
		a.draining = append([]drainingRelease{{v: old, since: time.Now()}}, a.draining...)
	}
	s.mu.Unlock()
	if err := s.publish(context.WithoutCancel(ctx), a); err != nil {
		// Recorded live, which is the truth the routers follow: the drain
		// loop tells them as soon as the cluster answers.
		s.logger.Error("switch the routers: retried until the cluster answers", "app", spec.App, "release", spec.Version.String(), "err", err)
		fmt.Fprintf(out, "       %s is live; the routers switch once the cluster answers again (%s)\n", spec.Version, slipway.OneLine(err.Error(), 120))
	}
	s.logger.Info("release live", "app", spec.App, "release", spec.Version.String(), "commit", spec.Commit)
	s.swapWorkers(context.WithoutCancel(ctx), spec, old, out)
	return nil
}

// claim marks release v of a as being put in the cluster now, so that a
// reconcile pass leaves its objects alone.
func (s *Scheduler) claim(a *app, v slipway.Version, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		a.busy[v] = true
		s.podLogs.poke() // its pods' output is followed from now on
	} else {
		delete(a.busy, v)
	}
}

// startWeb creates spec's config Secret and web Deployment (or finds
// them, after a restart) and waits until every pod of it is Ready.
func (s *Scheduler) startWeb(ctx context.Context, spec releaser.Spec, out io.Writer) error {
	image, limits, err := s.prepare(ctx, spec)
	if err != nil {
		return err
	}
	command, _ := spec.Procfile.Command("web")
	n := scaleOf(spec, "web")
	d := s.deployment(spec, image, "web", command, n, limitsOf(limits, "web"))
	if err := s.ensureDeployment(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(out, "-----> Starting %s: %d pod(s) of %s\n", d.Name, n, image)
	if err := s.waitReady(ctx, d.Name); err != nil {
		return s.explain(spec, d.Name, err, out)
	}
	fmt.Fprintf(out, "-----> %d web pod(s) ready\n", n)
	return nil
}

// prepare makes what every pod of spec needs: the pull Secret and the
// release's config Secret. It returns the image the pods run and the
// app's limits.
func (s *Scheduler) prepare(ctx context.Context, spec releaser.Spec) (string, map[string]slipway.Limits, error) {
	image, limits, err := s.imageAndLimits(ctx, spec)
	if err != nil {
		return "", nil, err
	}
	if s.cfg.PullAuth != nil {
		user, password, err := s.cfg.PullAuth(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("a pull token for the cluster: %w", err)
		}
		sec, err := s.pullSecret(user, password)
		if err != nil {
			return "", nil, err
		}
		if err := s.applySecret(ctx, sec); err != nil {
			return "", nil, err
		}
	}
	if err := s.applySecret(ctx, s.configSecret(spec)); err != nil {
		return "", nil, err
	}
	return image, limits, nil
}

// imageAndLimits returns the image spec's pods run and the app's limits.
func (s *Scheduler) imageAndLimits(ctx context.Context, spec releaser.Spec) (string, map[string]slipway.Limits, error) {
	image, err := s.image(ctx, spec)
	if err != nil {
		return "", nil, err
	}
	limits, err := s.limits(ctx, spec.App)
	return image, limits, err
}

// applySecret creates sec or updates slipway's own of that name.
func (s *Scheduler) applySecret(ctx context.Context, sec *corev1.Secret) error {
	secrets := s.client.CoreV1().Secrets(s.ns)
	_, err := secrets.Create(ctx, sec, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return kubeErr("create Secret "+sec.Name, err)
	}
	return retryOnConflict(func() error {
		cur, err := secrets.Get(ctx, sec.Name, metav1.GetOptions{})
		if err != nil {
			return kubeErr("read Secret "+sec.Name, err)
		}
		if !managed(cur) {
			return foreign("Secret", sec.Name)
		}
		cur.Data, cur.Type = sec.Data, sec.Type
		_, err = secrets.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// ensureDeployment creates d, or keeps slipway's own of that name (a
// restart finds the pods it started before, which keep serving).
func (s *Scheduler) ensureDeployment(ctx context.Context, d *appsv1.Deployment) error {
	deps := s.client.AppsV1().Deployments(s.ns)
	_, err := deps.Create(ctx, d, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return kubeErr("create Deployment "+d.Name, err)
	}
	cur, err := deps.Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		return kubeErr("read Deployment "+d.Name, err)
	}
	if !managed(cur) {
		return foreign("Deployment", d.Name)
	}
	if cur.DeletionTimestamp != nil {
		return fmt.Errorf("the Deployment %s is being deleted: try again in a few seconds", d.Name)
	}
	return nil
}

// waitReady waits until Deployment name has all its pods Ready.
func (s *Scheduler) waitReady(ctx context.Context, name string) error {
	return poll(ctx, func(ctx context.Context) (bool, error) {
		d, err := s.client.AppsV1().Deployments(s.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			return false, kubeErr("read Deployment "+name, err)
		}
		return err == nil && deploymentReady(d), nil
	})
}

// poll calls check until it says done or fails, at first every 20 ms,
// then less often, up to every 250 ms; ctx's end ends it with ctx.Err().
// The waits on the cluster (a Deployment Ready, a Job ended, a pod
// running or gone) are all this.
func poll(ctx context.Context, check func(context.Context) (bool, error)) error {
	wait := 20 * time.Millisecond
	for {
		if done, err := check(ctx); done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// deploymentReady: the controller has seen the latest spec, and every
// pod of it is up to date and Ready.
func deploymentReady(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.ReadyReplicas == want &&
		st.Replicas == want
}

// explain turns a release that did not become ready into what its pods
// said: their last events and last log lines.
func (s *Scheduler) explain(spec releaser.Spec, name string, cause error, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Fprintf(out, "-----> %s did not become ready: %s\n", name, slipway.OneLine(cause.Error(), 200))
	pods, err := s.client.CoreV1().Pods(s.ns).List(ctx, metav1.ListOptions{
		LabelSelector: releaseSelector(spec.App, spec.Version) + "," + LabelProcess + "=web"})
	if err != nil {
		fmt.Fprintf(out, "       its pods could not be read: %s\n", slipway.OneLine(kubeErr("list pods", err).Error(), 200))
	} else {
		for _, p := range pods.Items {
			fmt.Fprintf(out, "       pod %s: %s\n", p.Name, podState(&p))
			for _, e := range s.events(ctx, p.Name) {
				fmt.Fprintf(out, "         %s\n", e)
			}
			for _, line := range s.logTail(ctx, p.Name, 10) {
				fmt.Fprintf(out, "         | %s\n", line)
			}
		}
	}
	if errors.Is(cause, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s was not ready within %s; the live release keeps serving", slipway.ErrHealthCheck, name, s.rc.DeployTimeout)
	}
	return fmt.Errorf("%w: %s: %v", slipway.ErrHealthCheck, name, cause)
}

// podState says in a few words how a pod stands.
func podState(p *corev1.Pod) string {
	parts := []string{string(p.Status.Phase)}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
			parts = append(parts, "not ready")
		}
	}
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			parts = append(parts, w.Reason+": "+slipway.OneLine(w.Message, 120))
		}
		if t := c.LastTerminationState.Terminated; t != nil {
			parts = append(parts, fmt.Sprintf("last exit %d (%s)", t.ExitCode, t.Reason))
		}
		if c.RestartCount > 0 {
			parts = append(parts, fmt.Sprintf("%d restarts", c.RestartCount))
		}
	}
	return strings.Join(parts, ", ")
}

// events returns the last events of pod name, oldest first.
func (s *Scheduler) events(ctx context.Context, name string) []string {
	list, err := s.client.CoreV1().Events(s.ns).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Pod,involvedObject.name=" + name})
	if err != nil {
		return nil
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].LastTimestamp.Before(&list.Items[j].LastTimestamp) })
	var out []string
	for _, e := range list.Items[max(0, len(list.Items)-5):] {
		out = append(out, e.Reason+": "+slipway.OneLine(e.Message, 160))
	}
	return out
}

// logTail returns pod name's last n log lines, cleaned for a terminal.
func (s *Scheduler) logTail(ctx context.Context, name string, n int64) []string {
	rc, err := s.client.CoreV1().Pods(s.ns).Logs(ctx, name, corev1.PodLogOptions{TailLines: &n, LimitBytes: ptr(int64(16 << 10))})
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 16<<10))
	if err != nil {
		return nil
	}
	var out []string
	for line := range strings.SplitSeq(strings.TrimRight(string(b), "\n"), "\n") {
		out = append(out, slipway.OneLine(line, 200))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// publish writes a's live and draining releases to its ConfigMap: the
// switch every router replica makes when its watch fires.
func (s *Scheduler) publish(ctx context.Context, a *app) error {
	s.mu.Lock()
	live := ""
	if a.live != 0 {
		live = a.live.String()
	}
	var draining, asleep []string
	for _, d := range a.draining {
		draining = append(draining, d.v.String())
		if d.asleep {
			asleep = append(asleep, d.v.String())
		}
	}
	data := map[string]string{KeyLive: live, KeyDraining: strings.Join(draining, " "), KeyAsleep: strings.Join(asleep, " "),
		KeyDomains: strings.Join(a.domains, " "), KeySwitched: time.Now().UTC().Format(time.RFC3339Nano)}
	if a.maintenance {
		data[KeyMaintenance], data[KeyMaintenancePage] = "on", string(a.page)
	}
	s.mu.Unlock()
	cms := s.client.CoreV1().ConfigMaps(s.ns)
	name := AppConfigMap(a.name)
	err := retryOnConflict(func() error {
		cur, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = cms.Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns,
					Labels: map[string]string{LabelManagedBy: ManagedBy, LabelApp: a.name}},
				Data: data}, metav1.CreateOptions{})
			return kubeErr("create ConfigMap "+name, err)
		}
		if err != nil {
			return kubeErr("read ConfigMap "+name, err)
		}
		if !managed(cur) {
			return foreign("ConfigMap", name)
		}
		if sameExceptSwitched(cur.Data, data) {
			return nil
		}
		cur.Data = data
		_, err = cms.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	s.mu.Lock()
	a.stale = err != nil
	s.mu.Unlock()
	return err
}

// sameExceptSwitched reports whether a ConfigMap's data says the same as
// data but for when it was written.
func sameExceptSwitched(cur, data map[string]string) bool {
	for k, v := range data {
		if k != KeySwitched && cur[k] != v {
			return false
		}
	}
	for k := range cur {
		if _, ok := data[k]; !ok && k != KeySwitched {
			return false
		}
	}
	return true
}

// removeRelease deletes every object of release v of app: its pods go
// with their Deployments, Jobs and CronJobs.
func (s *Scheduler) removeRelease(ctx context.Context, app string, v slipway.Version) {
	s.removeSelected(ctx, releaseSelector(app, v))
}

// removeSelected deletes slipway's objects that sel selects.
func (s *Scheduler) removeSelected(ctx context.Context, sel string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &bg}
	list := metav1.ListOptions{LabelSelector: sel}
	errs := []error{
		s.client.AppsV1().Deployments(s.ns).DeleteCollection(ctx, del, list),
		s.client.BatchV1().CronJobs(s.ns).DeleteCollection(ctx, del, list),
		s.client.BatchV1().Jobs(s.ns).DeleteCollection(ctx, del, list),
		s.client.CoreV1().Secrets(s.ns).DeleteCollection(ctx, del, list),
	}
	for _, err := range errs {
		if err != nil {
			s.logger.Error("remove from the cluster", "selector", sel, "err", err)
		}
	}
}

// swapWorkers starts spec's workers and cron jobs and removes those of
// the release it replaced, old: workers do not drain.
func (s *Scheduler) swapWorkers(ctx context.Context, spec releaser.Spec, old slipway.Version, out io.Writer) {
	image, limits, err := s.imageAndLimits(ctx, spec)
	if err != nil {
		fmt.Fprintf(out, "       workers not started: %v\n", err)
		return
	}
	for _, p := range spec.Procfile {
		if p.Type == "web" || p.Type == "release" {
			continue
		}
		n := scaleOf(spec, p.Type)
		if n == 0 {
			continue
		}
		d := s.deployment(spec, image, p.Type, p.Command, n, limitsOf(limits, p.Type))
		if err := s.ensureDeployment(ctx, d); err != nil {
			fmt.Fprintf(out, "       %s not started: %v\n", p.Type, err)
			continue
		}
		fmt.Fprintf(out, "-----> Started %s: %d pod(s)\n", d.Name, n)
	}
	if spec.AppJSON != nil {
		for i, c := range spec.AppJSON.Cron {
			cj := s.cronJob(spec, image, i, c, limitsOf(limits, "cron"))
			if _, err := s.client.BatchV1().CronJobs(s.ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				fmt.Fprintf(out, "       cron %q not scheduled: %v\n", c.Command, kubeErr("create CronJob", err))
			}
		}
	}
	if old != 0 && old != spec.Version {
		s.removeWorkers(ctx, spec.App, old)
	}
}

// removeWorkers deletes release v's Deployments but its web one, and its
// CronJobs.
func (s *Scheduler) removeWorkers(ctx context.Context, app string, v slipway.Version) {
	s.removeSelected(ctx, releaseSelector(app, v)+","+LabelProcess+" notin (web,config,"+ProcessRelease+")")
}

// scaleOf is how many pods of typ spec runs: ps:scale's, else app.json's,
// else 1 (web at least 1).
func scaleOf(spec releaser.Spec, typ string) int {
	n, ok := spec.Scale[typ]
	if !ok {
		n = spec.AppJSON.Quantity(typ, 1)
	}
	if typ == "web" && n < 1 {
		n = 1
	}
	return n
}

func (s *Scheduler) limits(ctx context.Context, app string) (map[string]slipway.Limits, error) {
	if s.cfg.Limits == nil {
		return nil, nil
	}
	return s.cfg.Limits(ctx, app)
}

// kubeErr names what failed talking to the cluster; nil stays nil.
func kubeErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return fmt.Errorf("kubernetes: %s: %s", what, slipway.OneLine(st.Status().Message, 300))
	}
	return fmt.Errorf("kubernetes: %s: %w", what, err)
}

// foreign refuses to change an object slipway did not make.
func foreign(kind, name string) error {
	return slipway.Errorf(slipway.ECONFLICT, "%s %s exists and is not slipway's (no label %s=%s): rename or remove it; slipway never changes it", kind, name, LabelManagedBy, ManagedBy)
}

var _ = slices.Contains[[]string]
