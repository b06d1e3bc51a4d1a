package kubetest

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/slipway/slipway/internal/testutil"
)

// One control plane and node for the node's tests: each starts in ~6 s.
func TestNode(t *testing.T) {
	c := Start(t)
	n := StartNode(t, c, NodeConfig{})
	reg := startRegistry(t)
	ref := reg.pushBusybox(t, "web:v1")
	t.Run("DeploymentPodsServeOnTheirAddresses", func(t *testing.T) { testDeployment(t, c, n, reg, ref) })
	t.Run("JobsEndByTheirExitCode", func(t *testing.T) { testJobs(t, c, reg, ref) })
	t.Run("RestartsAContainerThatExits", func(t *testing.T) { testRestart(t, c, reg, ref) })
	t.Run("DeletionWaitsForPreStopAndGrace", func(t *testing.T) { testDeletion(t, c, n, reg, ref) })
	t.Run("PodsReachOnlyTheHostGateway", func(t *testing.T) { testIsolation(t, c, n, reg, ref) })
	t.Run("LivenessProbeRestarts", func(t *testing.T) { testLiveness(t, c, reg, ref) })
	t.Run("LogsFollowed", func(t *testing.T) { testFollow(t, c, reg, ref) })
	t.Run("NoPullWithoutTheSecret", func(t *testing.T) { testPullRefused(t, c, ref) })
	t.Run("AttachToATerminal", func(t *testing.T) { testAttachTerminal(t, c, reg, ref) })
	t.Run("AttachToStdinOnce", func(t *testing.T) { testAttachStdinOnce(t, c, reg, ref) })
	t.Run("AttachRefused", func(t *testing.T) { testAttachRefused(t, c, reg, ref) })
	t.Run("AttachStuckClientDetached", func(t *testing.T) { testAttachStuckClient(t, c, reg, ref) })
	t.Run("StopLeavesNothing", func(t *testing.T) { testStop(t, c, reg, ref) })
}

// A Deployment of 2 replicas goes through the real controllers and
// scheduler to the node: both pods pull the image with their pull
// secret, become Ready once their probe passes, each answers on its own
// address at the same port, as its user, with its Secret's env; their
// logs come through the API; deleting the Deployment removes the pods and
// their network namespaces.
func testDeployment(t *testing.T, c *Cluster, n *Node, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "web")
	reg.pullSecret(t, c, "web", "registry")
	config := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "config"}, Data: map[string][]byte{"GREETING": []byte("hello")}}
	if _, err := c.Clientset.CoreV1().Secrets("web").Create(ctx, config, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ImagePullSecrets:              []corev1.LocalObjectReference{{Name: "registry"}},
					TerminationGracePeriodSeconds: ptr.To[int64](5),
					SecurityContext:               &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](65534), RunAsGroup: ptr.To[int64](65534)},
					Containers: []corev1.Container{{
						Name: "web", Image: ref,
						Command: []string{"/bin/sh", "-c", `echo "$GREETING from $(id -u) on $HOSTNAME" | tee /tmp/index.html; exec httpd -f -p $PORT -h /tmp`},
						Env:     []corev1.EnvVar{{Name: "PORT", Value: "5000"}},
						EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "config"}}}},
						Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 5000}},
						ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
							HTTPGet: &corev1.HTTPGetAction{Path: "/index.html", Port: intstr.FromString("http")}}},
						Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}},
					}},
				},
			},
		},
	}
	created := time.Now()
	if _, err := c.Clientset.AppsV1().Deployments("web").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pods []corev1.Pod
	testutil.WaitFor(t, "the Deployment's 2 pods to be Ready", func() bool {
		list, err := c.Clientset.CoreV1().Pods("web").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false
		}
		pods = nil
		for _, p := range list.Items {
			if ready(&p) {
				pods = append(pods, p)
			}
		}
		return len(pods) == 2
	})
	t.Logf("2 pods Ready %v after the Deployment was created", time.Since(created).Round(10*time.Millisecond))
	testutil.WaitFor(t, "the Deployment to count 2 ready replicas", func() bool {
		got, err := c.Clientset.AppsV1().Deployments("web").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && got.Status.ReadyReplicas == 2
	})
	for _, p := range pods {
		if p.Status.PodIP == pods[0].Status.PodIP && p.Name != pods[0].Name {
			t.Fatalf("two pods have the address %s", p.Status.PodIP)
		}
		if got, want := get("http://"+p.Status.PodIP+":5000/index.html"), "hello from 65534 on "+p.Name+"\n"; got != want {
			t.Errorf("pod %s at %s:5000 answers %q, want %q", p.Name, p.Status.PodIP, got, want)
		}
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].State.Running == nil || cs[0].RestartCount != 0 || p.Status.Phase != corev1.PodRunning || p.Status.StartTime == nil {
			t.Errorf("pod %s's status: %+v", p.Name, p.Status)
		}
		logs, err := c.Clientset.CoreV1().Pods("web").GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil || !strings.Contains(string(logs), "hello from 65534 on "+p.Name) {
			t.Errorf("pod %s's log through the API: %q, %v", p.Name, logs, err)
		}
	}

	if err := c.Clientset.AppsV1().Deployments("web").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the Deployment's pods to be gone", func() bool {
		for _, p := range pods {
			if _, err := c.Clientset.CoreV1().Pods("web").Get(ctx, p.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return false
			}
		}
		return true
	})
	for _, p := range pods {
		if get("http://"+p.Status.PodIP+":5000/index.html") != "" {
			t.Errorf("pod %s still answers once deleted", p.Name)
		}
		if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), netnsName(string(p.UID))) {
			t.Errorf("pod %s's network namespace is left", p.Name)
		}
	}
	if n.running() != 0 {
		t.Errorf("the node still has %d pods", n.running())
	}
}

// A Job whose container exits 3 ends Failed, its pod Failed with exit
// code 3; one whose container exits 0 ends Complete.
func testJobs(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "jobs")
	reg.pullSecret(t, c, "jobs", "registry")
	for _, tc := range []struct {
		name string
		code int
		cond batchv1.JobConditionType
	}{{"fails", 3, batchv1.JobFailed}, {"succeeds", 0, batchv1.JobComplete}} {
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: tc.name},
			Spec: batchv1.JobSpec{
				BackoffLimit: ptr.To[int32](0),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy:    corev1.RestartPolicyNever,
					ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}},
					Containers: []corev1.Container{{Name: "release", Image: ref,
						Command: []string{"/bin/sh", "-c", "echo running; exit " + strconv.Itoa(tc.code)}}},
				}},
			},
		}
		if _, err := c.Clientset.BatchV1().Jobs("jobs").Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		code int32
		cond batchv1.JobConditionType
	}{{"fails", 3, batchv1.JobFailed}, {"succeeds", 0, batchv1.JobComplete}} {
		testutil.WaitFor(t, "Job "+tc.name+" to end "+string(tc.cond), func() bool {
			j, err := c.Clientset.BatchV1().Jobs("jobs").Get(ctx, tc.name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, cond := range j.Status.Conditions {
				if cond.Type == tc.cond && cond.Status == corev1.ConditionTrue {
					return true
				}
			}
			return false
		})
		pods, err := c.Clientset.CoreV1().Pods("jobs").List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + tc.name})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("Job %s's pods: %v, %v", tc.name, pods, err)
		}
		p := pods.Items[0]
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != tc.code {
			t.Errorf("Job %s's pod: %+v", tc.name, p.Status)
		}
	}
	for _, name := range []string{"fails", "succeeds"} {
		if err := c.Clientset.BatchV1().Jobs("jobs").Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, "the Jobs' pods to be gone", func() bool {
		pods, err := c.Clientset.CoreV1().Pods("jobs").List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 0
	})
}

// waitEvent waits for an event of the given reason about object name
// in ns: the node records them in the background.
func waitEvent(t *testing.T, c *Cluster, ns, name, reason string) {
	t.Helper()
	testutil.WaitFor(t, "a "+reason+" event of "+name, func() bool {
		events, err := c.Clientset.CoreV1().Events(ns).List(context.Background(),
			metav1.ListOptions{FieldSelector: "involvedObject.name=" + name + ",reason=" + reason})
		return err == nil && len(events.Items) > 0
	})
}

// ready reports whether p's Ready condition is True.
func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
