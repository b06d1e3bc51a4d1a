package kube

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/kubetest"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/router"
)

// A node dies (its kwok is killed: no Lease, no status) under two
// releases of an app, v2 live and v1 draining, each with a pod on the
// lost node and one on the other. The node lifecycle controller marks the
// node and its pods NotReady, and the router replica drops those pods from
// their pools at once, before they are evicted: a session pinned to one
// goes to the other pod of its own release (v1's stays on v1, though the
// live release is v2). Once the pods are evicted, the ReplicaSets make new
// ones on the node left, which join the same pools. The live release
// never changes.
//
// The pods are kwok's; what answers at their addresses is the test's own
// listeners (their pod CIDRs are in 127.0.0.0/8), which the node's loss
// closes. The control plane takes the loss in seconds (QuickNodeLoss),
// not minutes.
func TestNodeLoss_SessionsStayWithTheirRelease(t *testing.T) {
	began := time.Now()
	cs := clusterWith(t, kubetest.QuickNodeLoss())
	lostNode := kubetest.StartFakeNode(t, cs.kt, kubetest.FakeNodeConfig{Name: "kwok-a", PodCIDR: "127.77.1.0/24"})
	kubetest.StartFakeNode(t, cs.kt, kubetest.FakeNodeConfig{Name: "kwok-b", PodCIDR: "127.77.2.0/24"})
	// kwok hands out each node's addresses in order: two pods on kwok-a,
	// four (with the two replacements) on kwok-b.
	lostPods := listenAt(t, "127.77.1.", 4)
	listenAt(t, "127.77.2.", 8)

	key := make([]byte, 32)
	rand.Read(key)
	schedLog := &logLines{}
	s := New(Config{Client: cs.lean, Namespace: testNS, Registry: "registry.invalid:5000", AffinityKey: key},
		releaser.Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(schedLog, nil)),
			DrainSleepAfter: -1}) // a draining release idle here never sleeps: not this test's subject
	s.Start()
	t.Cleanup(func() {
		s.Shutdown(context.Background())
		if t.Failed() {
			t.Logf("the scheduler's log:\n%s", schedLog.String())
		}
	})

	v1 := releaseOnBoth(t, cs, s, 1)
	r := startReplica(t, cs, "a")
	old := pinnedTo(t, r, v1["kwok-a"])
	v2 := releaseOnBoth(t, cs, s, 2)
	testutil.WaitFor(t, "the replica to switch to v2", func() bool { return r.w.Report().Apps[testApp].Live == "v2" })
	switched := r.w.Report().Apps[testApp].Switched
	cur := pinnedTo(t, r, v2["kwok-a"])
	if _, got := old.get(t, r, "/"); got != v1["kwok-a"].Status.PodIP {
		t.Fatalf("after the switch the client pinned to v1 reached %q, want %s", got, v1["kwok-a"].Status.PodIP)
	}
	ready := time.Since(began)

	// kwok-a dies, and its pods with it.
	lost := time.Now()
	lostNode.Kill()
	lostPods.close()
	testutil.WaitFor(t, "the node lifecycle controller to take kwok-a for lost", func() bool {
		node, err := cs.CoreV1().Nodes().Get(context.Background(), "kwok-a", metav1.GetOptions{})
		return err == nil && !nodeReady(node)
	})
	notReady := time.Since(lost)
	testutil.WaitFor(t, "the replica to drop kwok-a's pods from v1's and v2's pools", func() bool {
		return slices.Equal(drainingIDs(r, "v1"), []string{InstanceID(v1["kwok-b"].Name)}) &&
			r.log.Contains(`msg="live pool's pods changed" replica=a app=shop release=v2 pods=1`)
	})
	dropped := time.Since(lost)
	// Dropped because they are not Ready: the eviction comes later.
	for _, p := range []*corev1.Pod{v1["kwok-a"], v2["kwok-a"]} {
		got, err := cs.CoreV1().Pods(testNS).Get(context.Background(), p.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.DeletionTimestamp != nil || podReady(got) {
			t.Errorf("pod %s when the replica dropped it: deleted %v, Ready %v; want not deleted yet, not Ready", p.Name, got.DeletionTimestamp, podReady(got))
		}
	}
	v1Pods, v2Pods := podIPs(v1), podIPs(v2)
	stays(t, r, old, testApp, key, "v1", v1["kwok-b"], v2Pods)
	stays(t, r, cur, testApp, key, "v2", v2["kwok-b"], v1Pods)

	// Evicted, the lost pods are replaced on kwok-b; the replacements join
	// the same pools.
	v1New := replacement(t, cs, 1, v1)
	v2New := replacement(t, cs, 2, v2)
	replaced := time.Since(lost)
	testutil.WaitFor(t, "v1's replacement in its draining pool", func() bool {
		want := []string{InstanceID(v1["kwok-b"].Name), InstanceID(v1New.Name)}
		slices.Sort(want)
		return slices.Equal(drainingIDs(r, "v1"), want)
	})
	testutil.WaitFor(t, "a new client to reach v2's replacement", func() bool {
		_, got := (&session{}).get(t, r, "/")
		return got == v2New.Status.PodIP
	})
	for _, p := range []*corev1.Pod{v1["kwok-a"], v2["kwok-a"]} {
		got, err := cs.CoreV1().Pods(testNS).Get(context.Background(), p.Name, metav1.GetOptions{})
		if err == nil && got.DeletionTimestamp == nil {
			t.Errorf("lost pod %s was not evicted, yet replaced", p.Name)
		}
	}
	v1Pods, v2Pods = append(v1Pods, v1New.Status.PodIP), append(v2Pods, v2New.Status.PodIP)
	for range 5 {
		if _, got := old.get(t, r, "/"); !slices.Contains(v1Pods[1:], got) {
			t.Fatalf("the client pinned to v1 reached %q, want one of v1's pods left %v", got, v1Pods[1:])
		}
		if _, got := cur.get(t, r, "/"); !slices.Contains(v2Pods[1:], got) {
			t.Fatalf("the client pinned to v2 reached %q, want one of v2's pods left %v", got, v2Pods[1:])
		}
	}
	if app := r.w.Report().Apps[testApp]; app.Live != "v2" || !app.Switched.Equal(switched) {
		t.Errorf("live %s switched at %v, want v2 as at %v: the node's loss switched the app", app.Live, app.Switched, switched)
	}
	t.Logf("two releases on two fake nodes ready in %s; after kwok-a died: NotReady in %s, its pods out of the pools in %s, replaced and back in them in %s",
		ready.Round(10*time.Millisecond), notReady.Round(10*time.Millisecond), dropped.Round(10*time.Millisecond), replaced.Round(10*time.Millisecond))
}

// releaseOnBoth releases version v of the app with two web pods, as
// slipway does (Scheduler.Release), and returns its pods by node: one on
// kwok-a, one on kwok-b.
func releaseOnBoth(t *testing.T, cs *testCluster, s *Scheduler, v slipway.Version) map[string]*corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec := releaser.Spec{App: testApp, Version: v, Commit: "c0ffee" + v.String(),
		Procfile: slipway.Procfile{{Type: "web", Command: "serve"}}, Scale: map[string]int{"web": 2},
		Image: &releaser.ImageSpec{Digest: "sha256:" + strings.Repeat("0"+strconv.Itoa(int(v)), 32)}}
	var out strings.Builder
	if err := s.Release(ctx, spec, &out); err != nil {
		t.Fatalf("release %s: %v\n%s", v, err, out.String())
	}
	pods, err := cs.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{LabelSelector: releaseSelector(testApp, v)})
	if err != nil {
		t.Fatal(err)
	}
	byNode := map[string]*corev1.Pod{}
	for i := range pods.Items {
		p := &pods.Items[i]
		byNode[p.Spec.NodeName] = p
	}
	if len(pods.Items) != 2 || byNode["kwok-a"] == nil || byNode["kwok-b"] == nil {
		var where []string
		for _, p := range pods.Items {
			where = append(where, p.Name+" on "+p.Spec.NodeName)
		}
		t.Fatalf("%s's pods: %v; want one on each node (the scheduler spreads a ReplicaSet's pods)", v, where)
	}
	return byNode
}

// pinnedTo returns a new client that the replica pinned to pod.
func pinnedTo(t *testing.T, r *replica, pod *corev1.Pod) *session {
	t.Helper()
	var s *session
	testutil.WaitFor(t, r.name+" to pin a new client to "+pod.Name, func() bool {
		s = &session{}
		code, body := s.get(t, r, "/")
		return code == http.StatusOK && body == pod.Status.PodIP
	})
	return s
}

// stays waits until the client s, pinned to a lost pod of release rel,
// reaches pod, of the same release; an answer from any of never fails the
// test. Its cookie then names rel and pod.
func stays(t *testing.T, r *replica, s *session, app string, key []byte, rel string, pod *corev1.Pod, never []string) {
	t.Helper()
	testutil.WaitFor(t, "the client pinned to a lost pod of "+rel+" to reach "+pod.Name, func() bool {
		code, body := s.get(t, r, "/")
		if slices.Contains(never, body) {
			t.Fatalf("the client pinned to %s reached %s, of another release", rel, body)
		}
		return code == http.StatusOK && body == pod.Status.PodIP
	})
	a, ok := router.NewCodec(key, 0).Decode(app, strings.TrimPrefix(s.cookie, router.CookieName+"="), time.Now())
	if !ok || a.Release != rel || a.Instance != InstanceID(pod.Name) {
		t.Errorf("the client's cookie says %+v (valid %v), want %s on %s", a, ok, rel, pod.Name)
	}
}

// replacement waits for the pod the ReplicaSet of release v makes in
// place of the one it had on kwok-a, Ready on kwok-b, and returns it.
func replacement(t *testing.T, cs *testCluster, v slipway.Version, had map[string]*corev1.Pod) *corev1.Pod {
	t.Helper()
	var found *corev1.Pod
	testutil.WaitFor(t, fmt.Sprintf("%s's lost pod to be replaced on kwok-b", v), func() bool {
		pods, err := cs.CoreV1().Pods(testNS).List(context.Background(), metav1.ListOptions{LabelSelector: releaseSelector(testApp, v)})
		if err != nil {
			return false
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Name != had["kwok-a"].Name && p.Name != had["kwok-b"].Name && p.DeletionTimestamp == nil && podReady(p) && p.Status.PodIP != "" {
				if p.Spec.NodeName != "kwok-b" {
					t.Fatalf("%s's replacement %s is on %s, want kwok-b", v, p.Name, p.Spec.NodeName)
				}
				found = p
				return true
			}
		}
		return false
	})
	return found
}

// drainingIDs returns the instance IDs of the replica's draining pool of
// release rel, sorted.
func drainingIDs(r *replica, rel string) []string {
	for _, p := range r.rt.Draining(testApp) {
		if p.Release != rel {
			continue
		}
		var ids []string
		for _, in := range p.Instances {
			ids = append(ids, in.ID)
		}
		slices.Sort(ids)
		return ids
	}
	return nil
}

// podIPs returns the addresses of a release's pods, kwok-a's first.
func podIPs(byNode map[string]*corev1.Pod) []string {
	return []string{byNode["kwok-a"].Status.PodIP, byNode["kwok-b"].Status.PodIP}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podListeners are the web processes of a fake node's pods.
type podListeners struct{ srvs []*httptest.Server }

// listenAt answers at port WebPort of the first n addresses of a fake
// node's pod CIDR, prefix.0/24 in 127.0.0.0/8, with the address itself:
// each as a pod kwok gives that address would answer.
func listenAt(t *testing.T, prefix string, n int) *podListeners {
	t.Helper()
	l := &podListeners{}
	for i := range n {
		addr := prefix + strconv.Itoa(i)
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(WebPort)))
		if err != nil {
			t.Fatalf("listen as a pod at %s: %v", addr, err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, addr)
		}))
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		l.srvs = append(l.srvs, srv)
	}
	t.Cleanup(l.close)
	return l
}

// close ends them all, as when their node dies.
func (l *podListeners) close() {
	for _, srv := range l.srvs {
		srv.CloseClientConnections()
		srv.Close()
	}
}
