package kube

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"github.com/slipway/slipway/internal/kubetest"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/router"
)

const (
	testNS     = "slipway"
	testApp    = "shop"
	testDomain = "example.test"
)

// testCluster is a test's API server: client-go's clients set objects up
// (its methods), lean is slipway's own client, as `slipway router` makes
// it from the admin's kubeconfig (the API server's CA and a token).
type testCluster struct {
	kubernetes.Interface
	lean                 *Client
	url, token, certFile string
	kt                   *kubetest.Cluster
}

// cluster starts an API server for t and returns its clients, with
// the namespace testNS made.
func cluster(t *testing.T) *testCluster {
	t.Helper()
	return clusterWith(t, kubetest.Options{})
}

// clusterWith is cluster with the control plane's flags changed as o
// says.
func clusterWith(t *testing.T, o kubetest.Options) *testCluster {
	t.Helper()
	c := kubetest.StartWith(t, o)
	kc, err := LoadKubeconfig(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	lean, err := NewClient(kc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: c.URL, BearerToken: c.Token, QPS: 1000, Burst: 1000,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}} // its own certificate, on loopback
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// Pods need the namespace's default ServiceAccount, which a
	// controller manager would make.
	if _, err := cs.CoreV1().ServiceAccounts(testNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return &testCluster{Interface: cs, lean: lean, url: c.URL, token: c.Token, certFile: c.CertFile, kt: c}
}

// logLines is a log a test can read while the watcher writes it: its
// lines (slog writes one a call), in no order.
type logLines struct{ m sync.Map }

func (l *logLines) Write(p []byte) (int, error) {
	l.m.Store(string(p), true)
	return len(p), nil
}

func (l *logLines) Contains(s string) (found bool) {
	l.m.Range(func(line, _ any) bool {
		found = strings.Contains(line.(string), s)
		return !found
	})
	return found
}

func (l *logLines) String() string {
	var lines []string
	l.m.Range(func(line, _ any) bool {
		lines = append(lines, line.(string))
		return true
	})
	slices.Sort(lines) // by time, as slog's text starts with it
	return strings.Join(lines, "")
}

// replica is a router replica: a router served over HTTP, and its Watcher.
type replica struct {
	name string
	rt   *router.Router
	w    *Watcher
	url  string
	log  *logLines
	stop func() // stops the Watcher and waits for Run to return
}

// startReplica starts replica name, reading the affinity key from the
// cluster as `slipway router` does.
func startReplica(t *testing.T, cs *testCluster, name string) *replica {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	key, err := AffinityKey(ctx, cs.lean, testNS)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, log: &logLines{}}
	logger := slog.New(slog.NewTextHandler(r.log, nil))
	r.rt = router.New(router.Config{Domain: testDomain, AffinityKey: key, Logger: logger})
	srv := httptest.NewServer(r.rt)
	r.url = srv.URL
	r.w = NewWatcher(WatcherConfig{Client: cs.lean, Namespace: testNS, Replica: name, Router: r.rt, Renew: 50 * time.Millisecond, Logger: logger})
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.w.Run(ctx) }()
	select {
	case <-r.w.Synced():
	case err := <-done:
		t.Fatalf("replica %s: Run returned before its first lists: %v", name, err)
	case <-time.After(testutil.Timeout):
		t.Fatalf("replica %s: no first lists after %s", name, testutil.Timeout)
	}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("replica %s: %v", name, err)
			}
		})
	}
	t.Cleanup(func() {
		r.stop()
		srv.Close()
		r.rt.Close()
		if t.Failed() {
			t.Logf("replica %s's log:\n%s", name, r.log.String())
		}
	})
	return r
}

// podServer is a pod's web process: it answers with the pod's name, and
// holds a request to /slow until release is closed.
type podServer struct {
	port    int
	release chan struct{}
}

func startPodServer(t *testing.T, name string) *podServer {
	t.Helper()
	p := &podServer{release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-p.release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	port, err := strconv.Atoi(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
	if err != nil {
		t.Fatal(err)
	}
	p.port = port
	return p
}

// makePod makes pod name of release rel through the API, its web process
// listening on 127.0.0.1:port, and makes it Ready if ready, as a kubelet
// would.
func makePod(t *testing.T, cs kubernetes.Interface, rel, name string, port int, ready bool) {
	t.Helper()
	makePodIn(t, cs, testNS, rel, name, port, ready, map[string]string{LabelManagedBy: ManagedBy})
}

// makePodIn is makePod in namespace ns, with labels besides the app's.
func makePodIn(t *testing.T, cs kubernetes.Interface, ns, rel, name string, port int, ready bool, labels map[string]string) {
	t.Helper()
	labels[LabelApp], labels[LabelRelease], labels[LabelProcess] = testApp, rel, "web"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			// No scheduler of the cluster's takes it: the test is its kubelet.
			SchedulerName: "slipway-test-none",
			Containers: []corev1.Container{{Name: "web", Image: "registry.invalid/shop:" + rel,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	updateStatus(t, cs, ns, name, func(s *corev1.PodStatus) {
		s.Phase, s.PodIP, s.PodIPs = corev1.PodRunning, "127.0.0.1", []corev1.PodIP{{IP: "127.0.0.1"}}
	})
	if ready {
		setReadyIn(t, cs, ns, name)
	}
}

// updateStatus changes pod name's status with change, as a kubelet does.
func updateStatus(t *testing.T, cs kubernetes.Interface, ns, name string, change func(*corev1.PodStatus)) {
	t.Helper()
	pods := cs.CoreV1().Pods(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := pods.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(&pod.Status)
		_, err = pods.UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// setReady marks pod name Ready.
func setReady(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	setReadyIn(t, cs, testNS, name)
}

func setReadyIn(t *testing.T, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	updateStatus(t, cs, ns, name, func(s *corev1.PodStatus) {
		s.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	})
}

// setApp writes the app's ConfigMap, as the control plane's switch does,
// and returns when it wrote it.
func setApp(t testing.TB, cs kubernetes.Interface, live, draining string) time.Time {
	t.Helper()
	ctx := context.Background()
	maps := cs.CoreV1().ConfigMaps(testNS)
	cm, err := maps.Get(ctx, AppConfigMap(testApp), metav1.GetOptions{})
	at := time.Now()
	data := map[string]string{KeyLive: live, KeyDraining: draining, KeySwitched: at.Format(time.RFC3339Nano)}
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: AppConfigMap(testApp),
			Labels: map[string]string{LabelManagedBy: ManagedBy, LabelApp: testApp}}, Data: data}
		_, err = maps.Create(ctx, cm, metav1.CreateOptions{})
	} else if err == nil {
		cm.Data = data
		_, err = maps.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// session is one client: it keeps the affinity cookie it was given.
type session struct {
	cookie string
}

// get requests path of the app through the replica and returns the
// status and body.
func (s *session) get(t *testing.T, r *replica, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", r.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = testApp + "." + testDomain
	if s.cookie != "" {
		req.Header.Set("Cookie", s.cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET through %s: %v", r.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == router.CookieName {
			s.cookie = c.Name + "=" + c.Value
		}
	}
	return resp.StatusCode, string(body)
}

// reaches waits until the session's requests through r are answered by
// one of pods.
func (s *session) reaches(t *testing.T, r *replica, pods ...string) string {
	t.Helper()
	var got string
	testutil.WaitFor(t, fmt.Sprintf("%s to send the session to %v", r.name, pods), func() bool {
		code, body := s.get(t, r, "/")
		got = body
		return code == http.StatusOK && slices.Contains(pods, body)
	})
	return got
}

// lease reads replica name's Lease report from the API.
func lease(t *testing.T, cs kubernetes.Interface, name string) (*coordv1.Lease, RouterReport) {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(testNS).Get(context.Background(), LeaseName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, RouterReport{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var rep RouterReport
	if err := json.Unmarshal([]byte(l.Annotations[AnnotationPools]), &rep); err != nil {
		t.Fatalf("the Lease's %s: %v", AnnotationPools, err)
	}
	return l, rep
}

func newKey(t *testing.T, cs *testCluster) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	if err := EnsureAffinityKey(context.Background(), cs.lean, testNS, key); err != nil {
		t.Fatal(err)
	}
}

// Two replicas, as behind a load balancer: the switch, pinning across
// replicas, a dead pod, the drain's report, a late replica and the retire.
func TestWatcher_TwoReplicasKeepSessionsAcrossTheSwitch(t *testing.T) {
	cs := cluster(t)
	newKey(t, cs)
	srv := map[string]*podServer{}
	for _, name := range []string{"shop-v1-a", "shop-v1-b", "shop-v2-a", "shop-v2-b"} {
		srv[name] = startPodServer(t, name)
	}
	makePod(t, cs, "v1", "shop-v1-a", srv["shop-v1-a"].port, true)
	makePod(t, cs, "v1", "shop-v1-b", srv["shop-v1-b"].port, true)
	setApp(t, cs, "v1", "")
	a, b := startReplica(t, cs, "a"), startReplica(t, cs, "b")

	// A client pinned to v1 through a is pinned through b too: both
	// replicas sign with the cluster's key and name the pod.
	old := &session{}
	pinned := old.reaches(t, a, "shop-v1-a", "shop-v1-b")
	for range 5 {
		for _, r := range []*replica{a, b} {
			if _, got := old.get(t, r, "/"); got != pinned {
				t.Fatalf("through %s the pinned client reached %s, want %s", r.name, got, pinned)
			}
		}
	}
	other := map[string]string{"shop-v1-a": "shop-v1-b", "shop-v1-b": "shop-v1-a"}[pinned]

	// v2 goes live in the ConfigMap before its pods are Ready here: the
	// replicas keep v1 live until they are.
	makePod(t, cs, "v2", "shop-v2-a", srv["shop-v2-a"].port, false)
	makePod(t, cs, "v2", "shop-v2-b", srv["shop-v2-b"].port, false)
	setApp(t, cs, "v2", "v1")
	for _, r := range []*replica{a, b} {
		testutil.WaitFor(t, r.name+" to wait for v2's pods", func() bool { return r.log.Contains("new live release has no Ready pod here yet") })
		if _, got := (&session{}).get(t, r, "/"); !strings.HasPrefix(got, "shop-v1-") {
			t.Fatalf("a new client reached %q through %s before v2 had a Ready pod", got, r.name)
		}
	}
	// Pods with the app's labels that are not slipway's (another
	// namespace, no managed-by label) are never in a pool.
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ServiceAccounts("other").Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	makePodIn(t, cs, "other", "v2", "shop-v2-x", startPodServer(t, "intruder").port, true, map[string]string{LabelManagedBy: ManagedBy})
	makePodIn(t, cs, testNS, "v2", "shop-v2-y", startPodServer(t, "intruder").port, true, map[string]string{})
	setReady(t, cs, "shop-v2-a")
	setReady(t, cs, "shop-v2-b")
	for _, r := range []*replica{a, b} {
		(&session{}).reaches(t, r, "shop-v2-a", "shop-v2-b")
		for range 10 {
			if _, got := (&session{}).get(t, r, "/"); got == "intruder" {
				t.Fatalf("%s sent a client to a pod that is not slipway's", r.name)
			}
		}
		if _, got := old.get(t, r, "/"); got != pinned {
			t.Fatalf("after the switch, through %s the pinned client reached %s, want %s", r.name, got, pinned)
		}
	}

	// A request in flight and the last one seen are in both Leases.
	slow := make(chan string, 1)
	s := *old
	go func() {
		_, body := s.get(t, a, "/slow")
		slow <- body
	}()
	testutil.WaitFor(t, "a's Lease to report v1's request in flight", func() bool {
		_, rep := lease(t, cs, "a")
		return rep.Apps[testApp].Draining["v1"].InFlight == 1
	})
	close(srv[pinned].release)
	if got := <-slow; got != pinned {
		t.Fatalf("the slow request reached %s, want %s", got, pinned)
	}
	for _, r := range []*replica{a, b} {
		testutil.WaitFor(t, r.name+"'s Lease to report v1 idle, seen, v2 live", func() bool {
			l, rep := lease(t, cs, r.name)
			app := rep.Apps[testApp]
			d, ok := app.Draining["v1"]
			return l != nil && *l.Spec.HolderIdentity == r.name && app.Live == "v2" && !app.Switched.IsZero() &&
				ok && d.InFlight == 0 && !d.LastSeen.IsZero() && d.Sessions == 1
		})
	}

	// The pinned pod ends (terminating, then gone): its client goes to the
	// other pod of v1, through either replica.
	delPod(t, cs, pinned)
	for _, r := range []*replica{a, b} {
		old.reaches(t, r, other)
	}

	// A replica started now builds the same pools from its first list.
	c := startReplica(t, cs, "c")
	if _, got := old.get(t, c, "/"); got != other {
		t.Fatalf("the late replica sent the pinned client to %s, want %s", got, other)
	}
	if _, got := (&session{}).get(t, c, "/"); !strings.HasPrefix(got, "shop-v2-") {
		t.Fatalf("the late replica sent a new client to %s, want v2", got)
	}

	// v1 leaves KeyDraining: retired everywhere, its client moves to v2.
	setApp(t, cs, "v2", "")
	// The client's cookie is pinned to v2 by the first replica it goes
	// through: at the next it reaches v2 whether that one has seen the
	// retire yet or not, so each replica's report is waited for.
	for _, r := range []*replica{a, b, c} {
		old.reaches(t, r, "shop-v2-a", "shop-v2-b")
		testutil.WaitFor(t, r.name+" to report no draining pool", func() bool { return len(r.w.Report().Apps[testApp].Draining) == 0 })
	}

	// A clean stop deletes the Lease.
	c.stop()
	if l, _ := lease(t, cs, "c"); l != nil {
		t.Fatal("c's Lease is left after a clean stop")
	}

	// Stopped (live empty): the stopped page; the ConfigMap gone: 404.
	setApp(t, cs, "", "")
	testutil.WaitFor(t, "a to stop the app", func() bool { code, _ := (&session{}).get(t, a, "/"); return code == http.StatusServiceUnavailable })
	if err := cs.CoreV1().ConfigMaps(testNS).Delete(context.Background(), AppConfigMap(testApp), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "b to forget the app", func() bool { code, _ := (&session{}).get(t, b, "/"); return code == http.StatusNotFound })
}

// delPod deletes pod name, first holding it as terminating (a finalizer)
// until the replicas have seen it as such, as a kubelet's grace period does.
func delPod(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	pods := cs.CoreV1().Pods(testNS)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod.Finalizers = append(pod.Finalizers, "slipway.dev/test")
		_, err = pods.Update(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if pod, err := pods.Get(ctx, name, metav1.GetOptions{}); err == nil {
			pod.Finalizers = nil
			pods.Update(ctx, pod, metav1.UpdateOptions{})
		}
	})
}

// The switch window: how long after the ConfigMap's update each replica
// switches, and how far apart two replicas do, over 20 switches.
func TestWatcher_SwitchWindow(t *testing.T) {
	cs := cluster(t)
	newKey(t, cs)
	for _, name := range []string{"shop-v1-a", "shop-v2-a"} {
		makePod(t, cs, name[5:7], name, startPodServer(t, name).port, true)
	}
	setApp(t, cs, "v1", "")
	replicas := []*replica{startReplica(t, cs, "a"), startReplica(t, cs, "b")}
	const switches = 20
	var lag, spread []time.Duration
	for i := range switches {
		live, draining := "v2", "v1"
		if i%2 == 1 {
			live, draining = draining, live
		}
		at := setApp(t, cs, live, draining)
		var first, last time.Time
		for _, r := range replicas {
			var app AppReport
			testutil.WaitFor(t, r.name+" to switch to "+live, func() bool {
				app = r.w.Report().Apps[testApp]
				return app.Live == live
			})
			lag = append(lag, app.Switched.Sub(at))
			if first.IsZero() || app.Switched.Before(first) {
				first = app.Switched
			}
			if app.Switched.After(last) {
				last = app.Switched
			}
		}
		spread = append(spread, last.Sub(first))
	}
	slices.Sort(lag)
	slices.Sort(spread)
	t.Logf("switch window over %d switches, 2 replicas: ConfigMap update to a replica's switch p50 %s p90 %s max %s; first to last replica p50 %s p90 %s max %s",
		switches, lag[len(lag)/2], lag[len(lag)*9/10], lag[len(lag)-1], spread[len(spread)/2], spread[len(spread)*9/10], spread[len(spread)-1])
}
