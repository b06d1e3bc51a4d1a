package kubetest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway/internal/testutil"
)

// DefaultKwok is where .ci/kwok.sh keeps kwok; SLIPWAY_KWOK names
// another.
const DefaultKwok = "/var/cache/slipway-kube/kwok-v0.7.0"

// FakeNodeAnnotation marks a Node that kwok plays (kwokctl's own mark).
const FakeNodeAnnotation = "kwok.x-k8s.io/node"

// fakeNodeLease is the Lease duration of a fake node, in seconds: kwok
// renews it every quarter of it, as kubelet does its own (40 s).
const fakeNodeLease = 4

// QuickNodeLoss is a control plane that takes a fake node's loss for what
// it is in seconds instead of minutes: the node lifecycle controller
// looks every second and marks a node whose Lease has not been renewed
// for 8 s (kubelet's default grace is 50 s) NotReady, and so its pods,
// and a pod of a node NotReady or unreachable is evicted 5 s later (the
// API server's default toleration is 300 s). 8 s is two Leases of a fake
// node: a loaded machine does not take a live one for lost. The test
// nodes of StartNode renew their Lease every 5 s, which is too close to
// 8 s: use fake nodes alone with it.
func QuickNodeLoss() Options {
	return Options{
		ControllerManagerFlags: []string{"--node-monitor-period=1s", "--node-monitor-grace-period=8s"},
		APIServerFlags:         []string{"--default-not-ready-toleration-seconds=5", "--default-unreachable-toleration-seconds=5"},
	}
}

// FakeNodeConfig says what fake node StartFakeNode registers.
type FakeNodeConfig struct {
	// Name is the Node's.
	Name string
	// PodCIDR is where its pods' addresses come from, the first of it
	// first (the network address too: 127.77.1.0 is a pod's). When
	// empty, a /24 of 10.245.0.0/16 that no other fake node of the
	// cluster has.
	PodCIDR string
}

// FakeNode is a Node that kwok plays kubelet for: kwok renews its Lease
// and marks each pod bound to it Running and Ready, with an address from
// the node's PodCIDR, at once; a deleted pod is gone at once. Nothing
// runs and nothing listens at a pod's address (unless the test listens
// there: an address in 127.0.0.0/8 is the host's own), and the pods'
// probes, images and commands are never looked at.
type FakeNode struct {
	// Name is the Node's name; PodCIDR its pods' addresses.
	Name, PodCIDR string

	kwok *server
}

// StartFakeNode registers a fake node in c and starts a kwok of its own
// for it, with a private HOME; kwok stops when t ends, or at Kill. It
// returns once the node is Ready. Without kwok the test ends with
// testutil.Missing.
func StartFakeNode(t testing.TB, c *Cluster, cfg FakeNodeConfig) *FakeNode {
	t.Helper()
	kwok := binary(t, "SLIPWAY_KWOK", DefaultKwok, "kwok", "bash .ci/kwok.sh")
	if cfg.Name == "" {
		t.Fatal("StartFakeNode: the node needs a name")
	}
	if cfg.PodCIDR == "" {
		cfg.PodCIDR = fmt.Sprintf("10.245.%d.0/24", c.fakeNodes.Add(1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name,
			// A kubelet's labels: the scheduler spreads a Deployment's
			// pods over the nodes by kubernetes.io/hostname.
			Labels:      map[string]string{"kubernetes.io/hostname": cfg.Name, "kubernetes.io/os": "linux", "type": "kwok"},
			Annotations: map[string]string{FakeNodeAnnotation: "fake"}},
		Spec: corev1.NodeSpec{PodCIDR: cfg.PodCIDR, PodCIDRs: []string{cfg.PodCIDR}},
	}
	if _, err := c.Clientset.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("register fake node %s: %v", cfg.Name, err)
	}
	dir := t.TempDir()
	// kwok reads ~/.kwok/kwok.yaml and KWOK_* variables: it sees neither
	// the user's. With no stages configured, it plays the default ones
	// (a node Ready with a Lease, pods Ready at once, deleted at once).
	// No --server-address: it listens nowhere (no logs, exec or metrics).
	n := &FakeNode{Name: cfg.Name, PodCIDR: cfg.PodCIDR}
	n.kwok = start(t, filepath.Join(dir, "kwok.log"), []string{"HOME=" + dir}, kwok,
		"--kubeconfig", c.Kubeconfig, "--manage-single-node", cfg.Name,
		"--node-lease-duration-seconds", strconv.Itoa(fakeNodeLease))
	waitFor(t, n.kwok, "kwok to make fake node "+cfg.Name+" Ready", func() bool {
		node, err := c.Clientset.CoreV1().Nodes().Get(ctx, cfg.Name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue
			}
		}
		return false
	})
	return n
}

// Kill ends the node's kwok at once (SIGKILL), as when a node dies: its
// Lease is renewed no more and its pods' status is written no more; the
// Node and its pods stay, for the node lifecycle controller to find.
func (n *FakeNode) Kill() { n.kwok.kill() }

// waitFor is testutil.WaitFor that fails at once if s ends meanwhile.
func waitFor(t testing.TB, s *server, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testutil.Timeout)
	for !cond() {
		select {
		case <-s.done:
			t.Fatalf("waiting for %s: %s ended (%v)", what, filepath.Base(s.cmd.Path), s.cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
