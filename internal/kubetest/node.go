package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/supervisor"
)

// NodeConfig says what test node StartNode registers.
type NodeConfig struct {
	// Name is the Node's; "kubetest-node" when empty.
	Name string
	// CPU, Memory and Pods are its capacity: "4", "8Gi", 110 when unset.
	CPU, Memory string
	Pods        int
	// Backoff is the first pause before a container that exited is
	// started again (doubled at each restart, up to 16 times it); kubelet's
	// is 10 s, a test's 500 ms when zero.
	Backoff time.Duration
}

// Node is a test node: it plays kubelet for the pods bound to it (see
// StartNode).
type Node struct {
	// Name is the Node's name.
	Name string

	c       *Cluster
	cfg     NodeConfig
	dir     string
	ctx     context.Context
	cancel  context.CancelFunc
	lister  corelisters.PodLister
	events  record.EventBroadcaster
	record  record.EventRecorder
	kubelet *kubeletServer
	watch   informers.SharedInformerFactory
	beat    chan struct{} // closed when the heartbeat has stopped
	workers sync.WaitGroup

	mu     sync.Mutex
	pods   map[types.UID]*pod
	rootfs map[string]string // unpacked images, by digest
	pullMu sync.Mutex        // one unpack of an image at a time
	done   bool
}

// StartNode registers a Node that runs the pods the scheduler binds to
// it, as a kubelet does, and removes it, with all it started, when t ends
// (or Stop). The test binary must call supervisor.Reexec first in its
// TestMain: containers start through it as through slipway.
func StartNode(t testing.TB, c *Cluster, cfg NodeConfig) *Node {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Missing(t, "the test node runs pods with runc and network namespaces: run the tests as root")
	}
	testutil.NeedTool(t, "runc", "runc")
	testutil.NeedTool(t, "ip", "iproute2")
	if cfg.Name == "" {
		cfg.Name = "kubetest-node"
	}
	if cfg.CPU == "" {
		cfg.CPU = "4"
	}
	if cfg.Memory == "" {
		cfg.Memory = "8Gi"
	}
	if cfg.Pods == 0 {
		cfg.Pods = 110
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	sweepDeadNodes()
	// Not t.TempDir: the node's files must outlive the test's own
	// cleanups that run before Stop's.
	dir, err := os.MkdirTemp("", nodeDirPrefix)
	if err == nil {
		err = writeOwner(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{Name: cfg.Name, c: c, cfg: cfg, dir: dir, ctx: ctx, cancel: cancel,
		pods: map[types.UID]*pod{}, rootfs: map[string]string{}}
	t.Cleanup(n.Stop)
	n.events = record.NewBroadcaster(record.WithContext(ctx))
	n.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.Clientset.CoreV1().Events("")})
	n.record = n.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: cfg.Name})
	if n.kubelet, err = startKubeletServer(n); err != nil {
		t.Fatal(err)
	}
	if err := n.register(); err != nil {
		t.Fatal(err)
	}
	n.beat = make(chan struct{})
	go func() {
		defer close(n.beat)
		n.heartbeat()
	}()

	factory := informers.NewSharedInformerFactoryWithOptions(c.Clientset, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.Name).String()
	}))
	inf := factory.Core().V1().Pods()
	n.lister = inf.Lister()
	inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.dispatch(obj) },
		UpdateFunc: func(_, obj any) { n.dispatch(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			n.dispatch(obj)
		},
	})
	n.watch = factory
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("the test node's watch of %v did not sync", typ)
		}
	}
	return n
}

// register creates the Node: Ready, with its capacity, at 127.0.0.1,
// its kubelet endpoint the node's (logs.go).
func (n *Node) register() error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(n.cfg.CPU),
		corev1.ResourceMemory: resource.MustParse(n.cfg.Memory),
		corev1.ResourcePods:   *resource.NewQuantity(int64(n.cfg.Pods), resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{
			"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "kubetest": "true",
		}},
	}
	node, err := n.c.Clientset.CoreV1().Nodes().Create(n.ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.Name, err)
	}
	// The controllers change the new Node at once (annotations, taints):
	// its status is written on the latest version.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if node, err = n.c.Clientset.CoreV1().Nodes().Get(n.ctx, n.Name, metav1.GetOptions{}); err != nil {
			return err
		}
		node.Status = corev1.NodeStatus{
			Capacity: capacity, Allocatable: capacity,
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: n.Name}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.kubelet.port)}},
			NodeInfo:        corev1.NodeSystemInfo{KubeletVersion: "v1.37.2-kubetest", OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "runc"},
			Conditions:      n.conditions(time.Now()),
		}
		_, err = n.c.Clientset.CoreV1().Nodes().UpdateStatus(n.ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("node %s's status: %w", n.Name, err)
	}
	return n.renewLease()
}

// conditions are a healthy kubelet's, heard at now.
func (n *Node) conditions(now time.Time) []corev1.NodeCondition {
	at := metav1.NewTime(now)
	cond := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: status, Reason: reason, LastHeartbeatTime: at, LastTransitionTime: at}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID"),
	}
}

// renewLease renews the node's Lease in kube-node-lease, the heartbeat
// the node lifecycle controller reads.
func (n *Node) renewLease() error {
	leases := n.c.Clientset.CoordinationV1().Leases("kube-node-lease")
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(n.ctx, n.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: n.Name}, Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To(n.Name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now}}
		_, err = leases.Create(n.ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	_, err = leases.Update(n.ctx, l, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the Lease every 5 s and the Ready condition every
// 20 s, until the node stops.
func (n *Node) heartbeat() {
	lease, status := time.NewTicker(5*time.Second), time.NewTicker(20*time.Second)
	defer lease.Stop()
	defer status.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-lease.C:
			n.renewLease()
		case <-status.C:
			node, err := n.c.Clientset.CoreV1().Nodes().Get(n.ctx, n.Name, metav1.GetOptions{})
			if err == nil {
				node.Status.Conditions = n.conditions(time.Now())
				n.c.Clientset.CoreV1().Nodes().UpdateStatus(n.ctx, node, metav1.UpdateOptions{})
			}
		}
	}
}

// dispatch hands a change of a pod bound to the node to its worker,
// starting one for a pod the node has not seen.
func (n *Node) dispatch(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done {
		return
	}
	w, ok := n.pods[p.UID]
	if !ok {
		if p.DeletionTimestamp == nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
			return // ended before this node knew it
		}
		w = newPod(n, p)
		n.pods[p.UID] = w
		n.workers.Add(1)
		go func() {
			defer n.workers.Done()
			w.run()
			n.mu.Lock()
			delete(n.pods, p.UID)
			n.mu.Unlock()
		}()
	}
	w.wake()
}

// current returns the pod uid as the node's watch last saw it, nil when
// it is gone.
func (n *Node) current(namespace, name string, uid types.UID) *corev1.Pod {
	p, err := n.lister.Pods(namespace).Get(name)
	if err != nil || p.UID != uid {
		return nil
	}
	return p
}

// running returns how many pods the node has a worker for.
func (n *Node) running() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.pods)
}

// Logs returns the output of the pod's containers (of every start), one
// after the other; "" for a pod the node did not run.
func (n *Node) Logs(namespace, pod string) string {
	var out []byte
	for _, f := range n.logFiles(namespace, pod, "") {
		data, _ := os.ReadFile(f)
		out = append(out, data...)
	}
	return string(out)
}

// process returns what runs now of container name of namespace/pod, nil
// if nothing.
func (n *Node) process(namespace, pod, name string) *supervisor.Process {
	if c := n.container(namespace, pod, name); c != nil {
		return c.proc()
	}
	return nil
}

// container returns container name of namespace/pod, nil if the node
// runs no such pod.
func (n *Node) container(namespace, pod, name string) *container {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.pods {
		if p.namespace != namespace || p.name != pod {
			continue
		}
		p.mu.Lock()
		ctrs := p.ctrs
		p.mu.Unlock()
		for _, c := range ctrs {
			if c.spec.Name == name {
				return c
			}
		}
	}
	return nil
}

// logFiles are the log files of namespace/pod's container (every
// container when empty).
func (n *Node) logFiles(namespace, pod, container string) []string {
	if container == "" {
		container = "*"
	}
	files, _ := filepath.Glob(filepath.Join(n.dir, "logs", namespace+"_"+pod+"_*", container+".log"))
	return files
}

// Stop ends every pod's containers at once (SIGKILL), removes their
// network namespaces and the node's files, and deletes the Node and its
// Lease. The pods' objects stay, as when a node is lost.
func (n *Node) Stop() {
	n.mu.Lock()
	if n.done {
		n.mu.Unlock()
		return
	}
	n.done = true
	n.mu.Unlock()
	n.cancel()
	n.workers.Wait()
	if n.watch != nil {
		n.watch.Shutdown()
	}
	if n.beat != nil {
		<-n.beat
	}
	n.events.Shutdown()
	if n.kubelet != nil {
		n.kubelet.close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.c.Clientset.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{})
	n.c.Clientset.CoordinationV1().Leases("kube-node-lease").Delete(ctx, n.Name, metav1.DeleteOptions{})
	os.RemoveAll(n.dir)
}
