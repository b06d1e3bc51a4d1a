package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/slipway/slipway/internal/kubetest"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/kube"
)

// kubeCluster is a real Kubernetes control plane with one test node,
// slipway serving with --scheduler kubernetes as the service account of
// docs/kubernetes/rbac.yaml, and a second router replica (slipway router,
// as the router's service account).
type kubeCluster struct {
	c        *kubetest.Cluster
	node     *kubetest.Node
	s        *server
	replicas []string // the routers' addresses: serve's, then slipway router's
	kc       string   // slipway's kubeconfig
	args     []string // slipway serve's
}

func startKubeCluster(t *testing.T, extra ...string) *kubeCluster {
	t.Helper()
	testutil.NeedTool(t, "runc", "runc")
	testutil.NeedTool(t, "busybox", "busybox-static")
	c := kubetest.Start(t)
	c.Namespace(t, kube.DefaultNamespace)
	applyManifest(t, c, "../docs/kubernetes/rbac.yaml", false)
	// The router's manifest is checked by the API server (a dry run):
	// its image cannot run here.
	applyManifest(t, c, "../docs/kubernetes/router.yaml", true)
	k := &kubeCluster{c: c}
	k.kc = serviceAccountKubeconfig(t, c, "slipway")
	k.node = kubetest.StartNode(t, c, kubetest.NodeConfig{})
	// A fixed port: the pods' images name the registry, and they must
	// still be pulled after slipway restarts.
	registry := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	k.args = append([]string{"--scheduler", "kubernetes", "--kubeconfig", k.kc, "--registry-addr", registry,
		"--stack", "busybox:latest", "--deploy-timeout", "40s"}, extra...)
	k.s = startServer(t, k.args...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("slipway's log:\n%s", k.s.logText())
		}
	})
	importBusybox(t, k.s)
	k.replicas = []string{k.s.httpAddr, startRouterReplica(t, serviceAccountKubeconfig(t, c, "slipway-router"), "edge-2")}
	return k
}

// applyManifest creates the objects of a YAML file (those that exist
// already are left), or only has the API server check them (dryRun).
func applyManifest(t *testing.T, c *kubetest.Cluster, path string, dryRun bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var raw runtime.RawExtension
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(raw.Raw)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw.Raw, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cs := c.Clientset
		opts := metav1.CreateOptions{}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			_, err = cs.CoreV1().Namespaces().Create(ctx, o, opts)
		case *corev1.ServiceAccount:
			_, err = cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
		case *rbacv1.Role:
			_, err = cs.RbacV1().Roles(o.Namespace).Create(ctx, o, opts)
		case *rbacv1.RoleBinding:
			_, err = cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, opts)
		case *appsv1.Deployment:
			_, err = cs.AppsV1().Deployments(o.Namespace).Create(ctx, o, opts)
		case *corev1.Service:
			_, err = cs.CoreV1().Services(o.Namespace).Create(ctx, o, opts)
		default:
			t.Fatalf("%s: a %T, which the test does not create", path, obj)
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("%s: %v", path, err)
		}
	}
}

// serviceAccountKubeconfig writes a kubeconfig with a token of the
// service account sa of slipway's namespace: its rights are the role
// rbac.yaml gives it, no more.
func serviceAccountKubeconfig(t *testing.T, c *kubetest.Cluster, sa string) string {
	t.Helper()
	exp := int64(3600)
	tok, err := c.Clientset.CoreV1().ServiceAccounts(kube.DefaultNamespace).CreateToken(context.Background(), sa,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token of %s: %v", sa, err)
	}
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: %s, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: %s, namespace: slipway}}]
current-context: test
`, c.URL, c.CertFile, sa, tok.Status.Token, sa)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startRouterReplica runs `slipway router` and returns its address.
func startRouterReplica(t *testing.T, kubeconfig, replica string) string {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // the test run's bound
	cmd := exec.CommandContext(ctx, slipwayBin, "router", "--kubeconfig", kubeconfig, "--namespace", kube.DefaultNamespace,
		"--http", addr, "--replica", replica, "--domain", testDomain)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var log bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{&mu, &log}, lockedWriter{&mu, &log}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			mu.Lock()
			t.Logf("slipway router %s's log:\n%s", replica, log.String())
			mu.Unlock()
		}
	})
	waitFor(t, "slipway router to listen", func() bool {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return addr
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// kubeApp is a Procfile app on the busybox stack: busybox's httpd serves
// index.html, which names its version.
func kubeApp(version string) map[string]string {
	return map[string]string{
		"Procfile":   "web: exec httpd -f -p $PORT -h /app\n",
		"index.html": "hello from " + version + "\n",
	}
}

// client is one browser: its own cookie jar, sending each request to
// one of the replicas in turn.
type kubeClient struct {
	k    *kubeCluster
	app  string
	http *http.Client
	n    int
}

func (k *kubeCluster) newClient(app string) *kubeClient {
	jar, _ := cookiejar.New(nil)
	// The client holds the jar and the connections; get sends through
	// its Transport itself.
	return &kubeClient{k: k, app: app, http: &http.Client{Jar: jar, Transport: &http.Transport{}}}
}

// get sends GET / through replica i and returns the status and body. The
// cookie jar is keyed by the app's host, so every replica gets the same
// cookie, as behind a load balancer.
func (c *kubeClient) get(i int) (int, string, error) {
	// RoundTrip, not the client's Do: no Timeout of the client applies.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+c.k.replicas[i]+"/", nil)
	req.Host = c.app + "." + testDomain
	// The jar keys by URL: give it the app's, not the replica's.
	u := *req.URL
	u.Host = req.Host
	for _, ck := range c.http.Jar.Cookies(&u) {
		req.AddCookie(ck)
	}
	resp, err := c.http.Transport.(*http.Transport).RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	c.http.Jar.SetCookies(&u, resp.Cookies())
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// next sends GET / through the replicas in turn.
func (c *kubeClient) next() (int, string, error) {
	c.n++
	return c.get(c.n % len(c.k.replicas))
}

// load runs sessions of a few requests each, through both replicas in
// turn, until stop: each session must always see the release it saw
// first, and every request must succeed.
type kubeLoad struct {
	requests, failed, flipped atomic.Int64
	mu                        sync.Mutex
	samples                   []string
	wg                        sync.WaitGroup
	stop                      chan struct{}
}

func (k *kubeCluster) startLoad(app string, clients int) *kubeLoad {
	l := &kubeLoad{stop: make(chan struct{})}
	for range clients {
		l.wg.Go(func() {
			for {
				c := k.newClient(app)
				first := ""
				for range 20 {
					select {
					case <-l.stop:
						return
					default:
					}
					code, body, err := c.next()
					l.requests.Add(1)
					if err != nil || code != 200 {
						l.failed.Add(1)
						l.note(fmt.Sprintf("%d %q %v", code, body, err))
						continue
					}
					if first == "" {
						first = body
					} else if body != first {
						l.flipped.Add(1)
						l.note(fmt.Sprintf("flipped: %q then %q", first, body))
						break
					}
				}
				c.http.CloseIdleConnections()
			}
		})
	}
	return l
}

func (l *kubeLoad) note(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) < 10 {
		l.samples = append(l.samples, s)
	}
}

func (l *kubeLoad) end(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("load: %d requests, %d failed, %d sessions flipped", l.requests.Load(), l.failed.Load(), l.flipped.Load())
	if l.failed.Load() > 0 || l.flipped.Load() > 0 {
		t.Errorf("load: %d failed, %d flipped: %v", l.failed.Load(), l.flipped.Load(), l.samples)
	}
}

// deployment returns the Deployment NAME, or nil when there is none.
func (k *kubeCluster) deployment(name string) bool {
	_, err := k.c.Clientset.AppsV1().Deployments(kube.DefaultNamespace).Get(context.Background(), name, metav1.GetOptions{})
	return err == nil
}

// liveRelease is what the app's ConfigMap names live.
func (k *kubeCluster) liveRelease(app string) string {
	cm, err := k.c.Clientset.CoreV1().ConfigMaps(kube.DefaultNamespace).Get(context.Background(), kube.AppConfigMap(app), metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return cm.Data[kube.KeyLive]
}

// A push goes live on the cluster as NAME-v1 once its pods are Ready;
// three more pushes under load through two router replicas fail no
// request and flip no session; a client pinned to v1 reaches v1 through
// either replica until v1 drains, after which NAME-v1 is deleted.
func TestKubernetes_PushesUnderLoadThroughTwoReplicas(t *testing.T) {
	k := startKubeCluster(t, "--session-ttl", "4s")
	s := k.s
	dir := s.newApp(kubeApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("web"))
	out := s.mustGit(dir, "push", "deploy", "main")
	if !strings.Contains(out, "web-v1") {
		t.Errorf("the push does not name the Deployment web-v1:\n%s", out)
	}
	if !k.deployment("web-v1") || k.liveRelease("web") != "v1" {
		t.Fatalf("after the push: Deployment web-v1 %v, live %q", k.deployment("web-v1"), k.liveRelease("web"))
	}
	for i := range k.replicas {
		waitFor(t, "replica "+strconv.Itoa(i)+" to serve v1", func() bool {
			code, body, _ := k.newClient("web").get(i)
			return code == 200 && body == "hello from v1"
		})
	}
	pinned := k.newClient("web")
	if code, body, err := pinned.get(0); code != 200 || body != "hello from v1" {
		t.Fatalf("pinned client: %d %q %v", code, body, err)
	}

	load := k.startLoad("web", 6)
	// A push can take longer than the session TTL on a loaded machine:
	// the pinned client keeps its session alive while the pushes run, as
	// a user active on the page would, so v1 drains only after they end.
	keep := make(chan struct{})
	kept := make(chan []string)
	go func() {
		var wrong []string
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-keep:
				kept <- wrong
				return
			case <-tick.C:
			}
			if code, body, err := pinned.get(n % len(k.replicas)); code != 200 || body != "hello from v1" {
				wrong = append(wrong, fmt.Sprintf("%d %q %v", code, body, err))
			}
		}
	}()
	for _, v := range []string{"v2", "v3", "v4"} {
		s.commit(dir, v, kubeApp(v))
		s.mustGit(dir, "push", "deploy", "main")
		// The pinned client stays on v1 through either replica.
		for i := range k.replicas {
			if code, body, err := pinned.get(i); code != 200 || body != "hello from v1" {
				t.Errorf("after %s, the client pinned to v1 through replica %d: %d %q %v", v, i, code, body, err)
			}
		}
	}
	close(keep)
	if wrong := <-kept; len(wrong) > 0 {
		t.Errorf("the pinned client left v1 while the pushes ran: %v", wrong)
	}
	load.end(t)
	if k.liveRelease("web") != "v4" {
		t.Errorf("live = %q, want v4", k.liveRelease("web"))
	}
	// Idle for the session TTL, v1 is retired: its Deployment goes, and
	// the pinned client moves to the live release.
	waitFor(t, "web-v1 to be deleted once idle", func() bool { return !k.deployment("web-v1") })
	if code, body, _ := pinned.get(1); code != 200 || body != "hello from v4" {
		t.Errorf("after v1 drained, the pinned client got %d %q, want v4", code, body)
	}
	if h := s.mustSSH("releases", "web"); !strings.Contains(h, "v1") {
		t.Errorf("releases:\n%s", h)
	}
}

// restart starts slipway again (after killSlipway) with the same flags.
func (k *kubeCluster) restart() {
	k.s.start(k.args...)
	k.replicas[0] = k.s.httpAddr
}

// wantServes waits until every replica serves body to a new client.
func (k *kubeCluster) wantServes(t *testing.T, app, body string) {
	t.Helper()
	for i := range k.replicas {
		waitFor(t, fmt.Sprintf("replica %d to serve %q", i, body), func() bool {
			c := k.newClient(app)
			defer c.http.CloseIdleConnections()
			code, got, _ := c.get(i)
			return code == 200 && got == body
		})
	}
}

// objectsOf lists the Deployments, Jobs and Secrets of release v of app.
func (k *kubeCluster) objectsOf(app, v string) []string {
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: kube.LabelApp + "=" + app + "," + kube.LabelRelease + "=" + v}
	var out []string
	if l, err := k.c.Clientset.AppsV1().Deployments(kube.DefaultNamespace).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			out = append(out, "Deployment "+o.Name)
		}
	}
	if l, err := k.c.Clientset.BatchV1().Jobs(kube.DefaultNamespace).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			out = append(out, "Job "+o.Name)
		}
	}
	if l, err := k.c.Clientset.CoreV1().Secrets(kube.DefaultNamespace).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			out = append(out, "Secret "+o.Name)
		}
	}
	return out
}

// Rollback, ps:scale and config:set behave as on one host; a failing
// release phase and a release that never becomes ready are rejected with
// what went wrong and leave nothing behind; a kill -9 of slipway in the
// middle of a deploy is reconciled when it starts again: the deploy cut
// off is failed and its objects removed, the live release serves on. A
// pod's output is in the app's log, as a process's on one host.
func TestKubernetes_RollbackScaleConfigFailuresAndKill(t *testing.T) {
	k := startKubeCluster(t, "--deploy-timeout", "15s")
	s := k.s
	// A worker and a cron entry besides the web: a Deployment without a
	// Service and a CronJob, per release.
	withWorker := func(version string) map[string]string {
		app := kubeApp(version)
		app["Procfile"] += "worker: echo working on $SLIPWAY_RELEASE; exec sleep 3600\n"
		app["app.json"] = `{"cron": [{"command": "echo tick", "schedule": "*/5 * * * *"}]}`
		return app
	}
	dir := s.newApp(withWorker("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("shop"))
	s.mustGit(dir, "push", "deploy", "main")
	if !k.deployment("shop-v1-worker") {
		t.Errorf("no Deployment shop-v1-worker")
	}
	waitFor(t, "the worker's line in logs -p worker", func() bool {
		out, _ := s.ssh(s.key, "logs", "shop", "-p", "worker")
		return regexp.MustCompile(`(?m)^\S+Z worker\.[a-z0-9]{5} v1: working on v1$`).MatchString(out)
	})
	s.commit(dir, "v2", withWorker("v2"))
	s.mustGit(dir, "push", "deploy", "main")
	k.wantServes(t, "shop", "hello from v2")
	// Workers do not drain: v1's go at the switch.
	waitFor(t, "shop-v1-worker to go", func() bool { return !k.deployment("shop-v1-worker") })
	if !k.deployment("shop-v2-worker") {
		t.Errorf("no Deployment shop-v2-worker")
	}
	cjs, err := k.c.Clientset.BatchV1().CronJobs(kube.DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(cjs.Items) != 1 || cjs.Items[0].Name != "shop-v2-cron-1" || cjs.Items[0].Spec.Schedule != "*/5 * * * *" {
		t.Errorf("CronJobs after v2: %v %v", err, cjs)
	}
	if out := s.mustSSH("cron:list", "shop"); !strings.Contains(out, "echo tick") {
		t.Errorf("cron:list:\n%s", out)
	}

	// Rollback: v3 runs v1's image.
	s.mustSSH("rollback", "shop", "v1")
	if k.liveRelease("shop") != "v3" || !k.deployment("shop-v3") {
		t.Fatalf("after the rollback: live %q, shop-v3 %v", k.liveRelease("shop"), k.deployment("shop-v3"))
	}
	k.wantServes(t, "shop", "hello from v1")

	// ps:scale: the live release's Deployment, no new release.
	s.mustSSH("ps:scale", "shop", "web=2")
	d, err := k.c.Clientset.AppsV1().Deployments(kube.DefaultNamespace).Get(context.Background(), "shop-v3", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 2 || d.Status.ReadyReplicas != 2 {
		t.Fatalf("after ps:scale web=2: %v %+v", err, d.Status)
	}
	if ps := s.mustSSH("ps", "shop"); len(regexp.MustCompile(`shop-v3-[a-z0-9]+-[a-z0-9]{5}\s`).FindAllString(ps, -1)) != 2 {
		t.Errorf("ps after web=2:\n%s", ps)
	}

	// config:set: a release of its own, its vars in its Secret, never in
	// the image.
	s.mustSSH("config:set", "shop", "'GREETING=hello world'")
	if k.liveRelease("shop") != "v4" {
		t.Fatalf("after config:set: live %q, want v4", k.liveRelease("shop"))
	}
	sec, err := k.c.Clientset.CoreV1().Secrets(kube.DefaultNamespace).Get(context.Background(), "shop-v4-config", metav1.GetOptions{})
	if err != nil || string(sec.Data["GREETING"]) != "hello world" {
		t.Fatalf("shop-v4-config: %v %v", err, sec)
	}
	d, _ = k.c.Clientset.AppsV1().Deployments(kube.DefaultNamespace).Get(context.Background(), "shop-v4", metav1.GetOptions{})
	if d == nil || *d.Spec.Replicas != 2 {
		t.Errorf("shop-v4 does not keep the scale of 2")
	}
	k.wantServes(t, "shop", "hello from v1")

	// run: a pod of the live release, its output and exit status the
	// caller's, its input the caller's through an attach; run -t a
	// terminal of its own in the pod, typed into.
	out, err := s.ssh(s.key, "run", "shop", "'echo $GREETING from $SLIPWAY_RELEASE; exit 7'")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 || !strings.Contains(out, "hello world from v4") {
		t.Errorf("run: %v\n%s", err, out)
	}
	cmd := s.sshCmd(nil, "run", "shop", "cat")
	cmd.Stdin = strings.NewReader("from stdin\n")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "from stdin\n" {
		t.Errorf("run cat: %v %q", err, out)
	}
	cmd = s.sshCmd([]string{"-tt"}, "run", "shop", "sh")
	cmd.Env = append(cmd.Env, "TERM=vt100")
	// ssh's input stays open until the run ends, as a terminal's does: a
	// pipe of the system's, which Wait does not wait to drain.
	typed, typing, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = typed
	typing.Write([]byte("test -t 0 && echo tty-$((6*7)) $TERM; exit 5\n"))
	out2, err := cmd.CombinedOutput()
	typed.Close()
	typing.Close()
	if !errors.As(err, &exit) || exit.ExitCode() != 5 || !strings.Contains(string(out2), "tty-42 vt100") {
		t.Errorf("run -t: %v %q", err, out2)
	}
	waitFor(t, "the run's pod to go", func() bool {
		pods, err := k.c.Clientset.CoreV1().Pods(kube.DefaultNamespace).List(context.Background(),
			metav1.ListOptions{LabelSelector: kube.LabelProcess + "=" + kube.ProcessRun})
		return err == nil && len(pods.Items) == 0
	})

	// A failing release phase: rejected with its output, nothing left.
	failing := kubeApp("v5")
	failing["Procfile"] += "release: echo migrating; exit 3\n"
	s.commit(dir, "release phase fails", failing)
	out, err = s.git(dir, "push", "deploy", "main")
	if err == nil || !strings.Contains(out, "release command failed") || !strings.Contains(out, "migrating") {
		t.Errorf("a failing release phase: %v\n%s", err, out)
	}
	if objs := k.objectsOf("shop", "v5"); len(objs) > 0 {
		t.Errorf("a failed release phase left %v", objs)
	}

	// A release that never becomes ready: rejected with its pods' state.
	never := kubeApp("v6")
	never["Procfile"] = "web: echo not listening; exec sleep 600\n"
	s.commit(dir, "never ready", never)
	out, err = s.git(dir, "push", "deploy", "main")
	if err == nil || !strings.Contains(out, "shop-v6 did not become ready") || !strings.Contains(out, "not listening") {
		t.Errorf("a release never ready: %v\n%s", err, out)
	}
	waitFor(t, "shop-v6's objects to be removed", func() bool { return len(k.objectsOf("shop", "v6")) == 0 })
	if k.liveRelease("shop") != "v4" {
		t.Errorf("live = %q after two failed pushes, want v4", k.liveRelease("shop"))
	}
	k.wantServes(t, "shop", "hello from v1")

	// kill -9 mid-deploy: a web that takes its time to listen.
	slow := kubeApp("v7")
	slow["Procfile"] = "web: sleep 600; exec httpd -f -p $PORT -h /app\n"
	s.commit(dir, "slow", slow)
	pushed := make(chan error, 1)
	go func() { _, err := s.git(dir, "push", "deploy", "main"); pushed <- err }()
	waitFor(t, "shop-v7 to be in the cluster", func() bool { return k.deployment("shop-v7") })
	killSlipway(t, s)
	<-pushed
	k.restart()
	waitFor(t, "the deploy cut off to be removed", func() bool { return len(k.objectsOf("shop", "v7")) == 0 })
	if k.liveRelease("shop") != "v4" {
		t.Errorf("live = %q after kill -9 and restart, want v4", k.liveRelease("shop"))
	}
	k.wantServes(t, "shop", "hello from v1")
	if h := s.mustSSH("releases", "shop"); !regexp.MustCompile(`(?m)^\s+v7\s+failed\b`).MatchString(h) {
		t.Errorf("the deploy cut off is not failed in the history:\n%s", h)
	}
	// The branch and the live release agree: the push cut off never
	// moved it.
	slowCommit := strings.TrimSpace(s.mustGit(dir, "rev-parse", "HEAD"))
	if remote := s.mustGit(dir, "ls-remote", s.remote("shop"), "refs/heads/main"); strings.HasPrefix(remote, slowCommit) {
		t.Errorf("the branch moved to the push cut off: %s", remote)
	}

	// ps:stop: every pod goes and every replica says so; ps:start runs
	// the live release again; apps:destroy leaves nothing of it.
	s.mustSSH("ps:stop", "shop")
	waitFor(t, "shop's pods to go", func() bool { return len(k.objectsOf("shop", "v4")) == 0 })
	for i := range k.replicas {
		waitFor(t, fmt.Sprintf("replica %d to say shop is stopped", i), func() bool {
			code, _, _ := k.newClient("shop").get(i)
			return code == http.StatusServiceUnavailable
		})
	}
	s.mustSSH("ps:start", "shop")
	k.wantServes(t, "shop", "hello from v1")

	// An app's own domain and its maintenance, at every replica.
	s.mustSSH("domains:add", "shop", "shop.example.org")
	for i := range k.replicas {
		waitFor(t, fmt.Sprintf("replica %d to route shop.example.org", i), func() bool {
			code, body := k.getHost(i, "shop.example.org")
			return code == 200 && body == "hello from v1"
		})
	}
	s.mustSSH("maintenance:on", "shop")
	for i := range k.replicas {
		waitFor(t, fmt.Sprintf("replica %d to answer shop's maintenance", i), func() bool {
			code, _ := k.getHost(i, "shop."+testDomain)
			return code == http.StatusServiceUnavailable
		})
	}
	s.mustSSH("maintenance:off", "shop")
	k.wantServes(t, "shop", "hello from v1")
	s.mustSSH("apps:destroy", "shop", "--confirm", "shop")
	waitFor(t, "shop's objects to go", func() bool {
		cms, _ := k.c.Clientset.CoreV1().ConfigMaps(kube.DefaultNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelApp + "=shop"})
		deps, _ := k.c.Clientset.AppsV1().Deployments(kube.DefaultNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelApp + "=shop"})
		return cms != nil && deps != nil && len(cms.Items) == 0 && len(deps.Items) == 0
	})
	for i := range k.replicas {
		waitFor(t, fmt.Sprintf("replica %d to know no shop", i), func() bool {
			code, _, _ := k.newClient("shop").get(i)
			return code == http.StatusNotFound
		})
	}
}

// A draining release that nobody reaches sleeps (its Deployment scaled
// to 0), as on one host; a pinned request at any replica wakes it and
// gets its answer from it, as if it had never slept.
func TestKubernetes_DrainingReleaseSleepsAndWakes(t *testing.T) {
	k := startKubeCluster(t, "--drain-sleep-after", "2s", "--session-ttl", "10m")
	s := k.s
	dir := s.newApp(kubeApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("nap"))
	s.mustGit(dir, "push", "deploy", "main")
	k.wantServes(t, "nap", "hello from v1")
	pinned := k.newClient("nap")
	if code, body, err := pinned.get(1); code != 200 || body != "hello from v1" {
		t.Fatalf("pinned client: %d %q %v", code, body, err)
	}
	s.commit(dir, "v2", kubeApp("v2"))
	s.mustGit(dir, "push", "deploy", "main")
	k.wantServes(t, "nap", "hello from v2")

	replicas := func() int32 {
		d, err := k.c.Clientset.AppsV1().Deployments(kube.DefaultNamespace).Get(context.Background(), "nap-v1", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("nap-v1: %v", err)
		}
		return *d.Spec.Replicas
	}
	waitFor(t, "nap-v1 to sleep (0 replicas, no pod)", func() bool {
		return replicas() == 0 && len(k.objectsOf("nap", "v1")) == 2 && k.podsOf("nap", "v1") == 0
	})
	began := time.Now()
	for i := range k.replicas {
		if code, body, err := pinned.get(i); code != 200 || body != "hello from v1" {
			t.Errorf("the pinned client through replica %d after v1 slept: %d %q %v", i, code, body, err)
		}
	}
	t.Logf("woke in %s", time.Since(began).Round(time.Millisecond))
	if replicas() != 1 {
		t.Errorf("nap-v1 has %d replicas after the wake, want 1", replicas())
	}
	if code, body, _ := k.newClient("nap").get(0); code != 200 || body != "hello from v2" {
		t.Errorf("a new client while v1 wakes: %d %q, want v2", code, body)
	}

	// An in-place upgrade of slipway (SIGHUP): the new process takes the
	// cluster back from the history; the pinned client stays on v1 at
	// its router too, and the old process's Lease goes with it.
	s.upgrade(func(pid int) { syscall.Kill(pid, syscall.SIGHUP) })
	for i := range k.replicas {
		if code, body, err := pinned.get(i); code != 200 || body != "hello from v1" {
			t.Errorf("the pinned client through replica %d after the upgrade: %d %q %v", i, code, body, err)
		}
	}
	k.wantServes(t, "nap", "hello from v2")
	waitFor(t, "two replicas' Leases (the old process's gone)", func() bool {
		l, err := k.c.Clientset.CoordinationV1().Leases(kube.DefaultNamespace).List(context.Background(), metav1.ListOptions{})
		return err == nil && len(l.Items) == 2
	})
}

// podsOf counts the pods of release v of app.
func (k *kubeCluster) podsOf(app, v string) int {
	pods, err := k.c.Clientset.CoreV1().Pods(kube.DefaultNamespace).List(context.Background(),
		metav1.ListOptions{LabelSelector: kube.LabelApp + "=" + app + "," + kube.LabelRelease + "=" + v})
	if err != nil {
		return -1
	}
	return len(pods.Items)
}

// getHost sends GET / for host through replica i, as a new client.
func (k *kubeCluster) getHost(i int, host string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+k.replicas[i]+"/", nil)
	req.Host = host
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}
