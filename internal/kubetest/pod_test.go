package kubetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/slipway/slipway/internal/testutil"
)

// webPod is a pod of one container running script as nobody, with a
// readiness probe on /index.html at port 5000 and an emptyDir at /data.
func webPod(name, ref, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}},
			SecurityContext:  &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](65534), RunAsGroup: ptr.To[int64](65534)},
			Volumes:          []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{
				Name: "web", Image: ref, Command: []string{"/bin/sh", "-c", script},
				Ports:        []corev1.ContainerPort{{ContainerPort: 5000}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
				ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Path: "/index.html", Port: intstr.FromInt32(5000)}}},
			}},
		},
	}
}

// waitPod waits until cond holds of the pod ns/name, and returns it.
func waitPod(t *testing.T, c *Cluster, ns, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	testutil.WaitFor(t, "pod "+name+" "+what, func() bool {
		var err error
		p, err = c.Clientset.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && cond(p)
	})
	return p
}

// A container that exits under restartPolicy Always is started again
// after a backoff, counted, and Ready only once its probe passes again;
// its emptyDir outlives the restart, its log holds both runs, and the
// BackOff is an event of the pod.
func testRestart(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "restart")
	reg.pullSecret(t, c, "restart", "registry")
	pod := webPod("crash-once", ref, `if [ -e /data/ran ]; then echo second run; echo again > /tmp/index.html; exec httpd -f -p 5000 -h /tmp; fi
echo first run; touch /data/ran; exit 1`)
	if _, err := c.Clientset.CoreV1().Pods("restart").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, "restart", "crash-once", "to be Ready", ready)
	cs := p.Status.ContainerStatuses[0]
	if cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("the container's status after one exit: %+v", cs)
	}
	if got := get("http://" + p.Status.PodIP + ":5000/index.html"); got != "again\n" {
		t.Errorf("the pod answers %q after its restart", got)
	}
	logs, err := c.Clientset.CoreV1().Pods("restart").GetLogs("crash-once", &corev1.PodLogOptions{TailLines: ptr.To[int64](1)}).DoRaw(ctx)
	if err != nil || string(logs) != "second run\n" {
		t.Errorf("the log's last line through the API: %q, %v", logs, err)
	}
	waitEvent(t, c, "restart", "crash-once", "BackOff")
	if err := c.Clientset.CoreV1().Pods("restart").Delete(ctx, "crash-once", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the pod to be gone", func() bool {
		_, err := c.Clientset.CoreV1().Pods("restart").Get(ctx, "crash-once", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// A pod being deleted keeps serving through its preStop sleep; a
// container that ignores SIGTERM is killed once the grace period is over,
// and then the pod's object and network namespace go.
func testDeletion(t *testing.T, c *Cluster, n *Node, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "deletion")
	reg.pullSecret(t, c, "deletion", "registry")
	pod := webPod("stubborn", ref, `trap "" TERM; echo up > /tmp/index.html; httpd -f -p 5000 -h /tmp & while :; do sleep 1; done`)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](4)
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 2}}}
	if _, err := c.Clientset.CoreV1().Pods("deletion").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, "deletion", "stubborn", "to be Ready", ready)
	url := "http://" + p.Status.PodIP + ":5000/index.html"
	if err := c.Clientset.CoreV1().Pods("deletion").Delete(ctx, "stubborn", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := get(url); got != "up\n" {
		t.Errorf("during its preStop sleep the pod answers %q", got)
	}
	testutil.WaitFor(t, "the pod to be gone", func() bool {
		_, err := c.Clientset.CoreV1().Pods("deletion").Get(ctx, "stubborn", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if get(url) != "" {
		t.Error("the pod answers once deleted")
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), netnsName(string(p.UID))) {
		t.Error("the pod's network namespace is left")
	}
	if n.running() != 0 {
		t.Errorf("the node still has %d pods", n.running())
	}
}

// A pod reaches the host at HostGateway, but not what listens on the
// host's loopback only (the API server, the registry), nor another pod.
func testIsolation(t *testing.T, c *Cluster, n *Node, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "isolation")
	reg.pullSecret(t, c, "isolation", "registry")
	open := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "host") }))
	l, err := net.Listen("tcp", ":0") // every address of the host's, HostGateway's too
	if err != nil {
		t.Fatal(err)
	}
	open.Listener = l
	open.Start()
	defer open.Close()
	other := webPod("other", ref, `echo up > /tmp/index.html; exec httpd -f -p 5000 -h /tmp`)
	if _, err := c.Clientset.CoreV1().Pods("isolation").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, "isolation", "other", "to be Ready", ready)
	port := func(u string) string { return u[strings.LastIndex(u, ":")+1:] }
	script := fmt.Sprintf(`try() { nc -w 2 "$1" "$2" </dev/null >/dev/null 2>&1 && echo "reached $1:$2" || echo "not reached $1:$2"; }
try %[1]s %[2]d
try %[1]s %[3]s
try %[1]s %[4]s
try %[5]s 5000`, HostGateway, l.Addr().(*net.TCPAddr).Port, port(c.URL), port(reg.host), p.Status.PodIP)
	pod := webPod("probe", ref, script)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Spec.Containers[0].ReadinessProbe = nil
	if _, err := c.Clientset.CoreV1().Pods("isolation").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c, "isolation", "probe", "to end", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	logs := n.Logs("isolation", "probe")
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	want := []string{
		fmt.Sprintf("reached %s:%d", HostGateway, l.Addr().(*net.TCPAddr).Port),
		fmt.Sprintf("not reached %s:%s", HostGateway, port(c.URL)),
		fmt.Sprintf("not reached %s:%s", HostGateway, port(reg.host)),
		fmt.Sprintf("not reached %s:5000", p.Status.PodIP),
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("what the pod reached:\n%s\nwant:\n%s", logs, strings.Join(want, "\n"))
	}
	for _, name := range []string{"other", "probe"} {
		if err := c.Clientset.CoreV1().Pods("isolation").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
	}
}

// A container whose liveness probe fails is killed and started again.
func testLiveness(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "liveness")
	reg.pullSecret(t, c, "liveness", "registry")
	pod := webPod("dead", ref, `echo up > /tmp/index.html; exec httpd -f -p 5000 -h /tmp`)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1,
		ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(5001)}}}
	if _, err := c.Clientset.CoreV1().Pods("liveness").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c, "liveness", "dead", "to be restarted", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	waitEvent(t, c, "liveness", "dead", "Killing")
	c.Clientset.CoreV1().Pods("liveness").Delete(ctx, "dead", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
}

// A log followed through the API streams until the container exits.
func testFollow(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "follow")
	reg.pullSecret(t, c, "follow", "registry")
	pod := webPod("counter", ref, `for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done`)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Spec.Containers[0].ReadinessProbe = nil
	if _, err := c.Clientset.CoreV1().Pods("follow").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c, "follow", "counter", "to run", func(p *corev1.Pod) bool { return p.Status.Phase != corev1.PodPending })
	stream, err := c.Clientset.CoreV1().Pods("follow").GetLogs("counter", &corev1.PodLogOptions{Follow: true}).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	got, err := io.ReadAll(stream)
	if want := "line 1\nline 2\nline 3\nline 4\nline 5\n"; string(got) != want || err != nil {
		t.Errorf("the followed log: %q, %v; want %q", got, err, want)
	}
	c.Clientset.CoreV1().Pods("follow").Delete(ctx, "counter", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
}

// A pod without the pull secret gets no image from the registry: it
// waits, saying why, and runs nothing.
func testPullRefused(t *testing.T, c *Cluster, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "nopull")
	pod := webPod("nopull", ref, `echo ran`)
	pod.Spec.ImagePullSecrets = nil
	if _, err := c.Clientset.CoreV1().Pods("nopull").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, "nopull", "nopull", "to fail its pull", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && (cs[0].State.Waiting.Reason == "ErrImagePull" || cs[0].State.Waiting.Reason == "ImagePullBackOff")
	})
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, "credentials refused") {
		t.Errorf("the pull's error: %s", msg)
	}
	if p.Status.Phase != corev1.PodPending || ready(p) {
		t.Errorf("the pod is %s", p.Status.Phase)
	}
	c.Clientset.CoreV1().Pods("nopull").Delete(ctx, "nopull", metav1.DeleteOptions{})
	testutil.WaitFor(t, "the pod to be gone", func() bool {
		_, err := c.Clientset.CoreV1().Pods("nopull").Get(ctx, "nopull", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// A node that stops with pods running ends them and leaves nothing: no
// container, process, network namespace or file; its Node is deleted.
func testStop(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "stop")
	reg.pullSecret(t, c, "stop", "registry")
	second := StartNode(t, c, NodeConfig{Name: "second"})
	pod := webPod("running", ref, `echo up > /tmp/index.html; exec httpd -f -p 5000 -h /tmp`)
	pod.Spec.NodeName = "second"
	if _, err := c.Clientset.CoreV1().Pods("stop").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, "stop", "running", "to be Ready", ready)
	init := 0
	if proc := second.process("stop", "running", "web"); proc != nil {
		init = proc.PID()
	}
	second.Stop()
	if get("http://"+p.Status.PodIP+":5000/index.html") != "" {
		t.Error("the pod answers after its node stopped")
	}
	if init == 0 || testutil.ProcessAlive(t, init) {
		t.Errorf("the container's runc (pid %d) runs after its node stopped", init)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), netnsName(string(p.UID))) {
		t.Error("the pod's network namespace is left")
	}
	if _, err := os.Stat(second.dir); !os.IsNotExist(err) {
		t.Errorf("the node's directory is left: %v", err)
	}
	if _, err := c.Clientset.CoreV1().Nodes().Get(ctx, "second", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Node is left: %v", err)
	}
	c.Clientset.CoreV1().Pods("stop").Delete(ctx, "running", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
}
