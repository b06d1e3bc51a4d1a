package kubetest

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway/internal/testutil"
)

// A fake node is Ready while its kwok runs, which renews its Lease and
// runs the pods bound to it with addresses of its PodCIDR; once its kwok
// is killed the node lifecycle controller of QuickNodeLoss marks it and
// its pods NotReady, and evicts them. The evicted pod stays, terminating:
// no kubelet is there to say it has ended.
func TestFakeNode_ReadyThenLost(t *testing.T) {
	c := StartWith(t, QuickNodeLoss())
	n := StartFakeNode(t, c, FakeNodeConfig{Name: "fake-a"})
	// Another node, alive: the node lifecycle controller evicts nothing
	// in a zone whose nodes are all lost.
	StartFakeNode(t, c, FakeNodeConfig{Name: "fake-b"})
	ctx := context.Background()
	leases := c.Clientset.CoordinationV1().Leases("kube-node-lease")
	var renewals []time.Time
	testutil.WaitFor(t, "kwok to renew fake-a's Lease three times", func() bool {
		l, err := leases.Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil || l.Spec.RenewTime == nil {
			return false
		}
		if len(renewals) == 0 || !l.Spec.RenewTime.Time.Equal(renewals[len(renewals)-1]) {
			renewals = append(renewals, l.Spec.RenewTime.Time)
		}
		return len(renewals) >= 3
	})
	t.Logf("fake-a's Lease renewed every %s", renewals[2].Sub(renewals[1]).Round(10*time.Millisecond))

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: n.Name,
		Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/none:1"}}}}
	if _, err := c.Clientset.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ip string
	testutil.WaitFor(t, "kwok to run the pod", func() bool {
		p, err := c.Clientset.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		ip = p.Status.PodIP
		return err == nil && p.Status.Phase == corev1.PodRunning && ready(p) && ip != ""
	})
	if ip != "10.245.1.0" {
		t.Errorf("the pod's address is %s, want the first of fake-a's PodCIDR %s", ip, n.PodCIDR)
	}

	lost := time.Now()
	n.Kill()
	testutil.WaitFor(t, "fake-a and its pod to be NotReady", func() bool {
		node, err := c.Clientset.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil || nodeReady(node) {
			return false
		}
		p, err := c.Clientset.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return err == nil && !ready(p)
	})
	notReady := time.Since(lost)
	testutil.WaitFor(t, "the pod to be evicted", func() bool {
		p, err := c.Clientset.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp != nil
	})
	t.Logf("fake-a killed: NotReady in %s, its pod evicted in %s", notReady.Round(10*time.Millisecond), time.Since(lost).Round(10*time.Millisecond))
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
