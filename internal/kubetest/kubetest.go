package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/slipway/slipway/internal/testutil"
)

// Where .ci/kube-apiserver.sh keeps the binaries it builds;
// SLIPWAY_KUBE_APISERVER, SLIPWAY_KUBE_CONTROLLER_MANAGER and
// SLIPWAY_KUBE_SCHEDULER name others.
const (
	DefaultAPIServer         = "/var/cache/slipway-kube/kube-apiserver-v1.37.2"
	DefaultControllerManager = "/var/cache/slipway-kube/kube-controller-manager-v1.37.2"
	DefaultScheduler         = "/var/cache/slipway-kube/kube-scheduler-v1.37.2"
)

// Cluster is a running control plane: the API server, the controller
// manager and the scheduler.
type Cluster struct {
	// URL is the API server's, https://127.0.0.1:PORT; its certificate
	// is self-signed (Client trusts it).
	URL string
	// Token is a bearer token of a cluster admin (system:masters).
	Token string
	// Client is an HTTP client that trusts the API server's certificate
	// and sends Token.
	Client *http.Client
	// Kubeconfig is a kubeconfig file of the admin (Token), which trusts
	// the API server's certificate: for `--kubeconfig`.
	Kubeconfig string
	// Config is the admin's client-go configuration; Clientset its
	// clients.
	Config    *rest.Config
	Clientset *kubernetes.Clientset
	// CertFile is the API server's self-signed certificate (PEM).
	CertFile string
	dir      string

	fakeNodes atomic.Int32 // how many StartFakeNode made: each gets a pod CIDR of its own
}

// Options are what a test changes of the control plane Start runs.
type Options struct {
	// APIServerFlags and ControllerManagerFlags are given to those servers
	// after Start's own: QuickNodeLoss's, for instance.
	APIServerFlags, ControllerManagerFlags []string
}

// Start starts etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler for t and stops them when t ends. It returns once the API
// server is ready and the controller manager has made the namespace
// default's ServiceAccount (pods need one: see Namespace). Without the
// programs it ends the test with testutil.Missing, saying how to get them.
func Start(t testing.TB) *Cluster {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with the servers' flags changed as o says.
func StartWith(t testing.TB, o Options) *Cluster {
	t.Helper()
	etcd := testutil.NeedTool(t, "etcd", "etcd-server")
	apiserver := binary(t, "SLIPWAY_KUBE_APISERVER", DefaultAPIServer, "kube-apiserver", "bash .ci/kube-apiserver.sh kube-apiserver")
	controllers := binary(t, "SLIPWAY_KUBE_CONTROLLER_MANAGER", DefaultControllerManager, "kube-controller-manager", "bash .ci/kube-apiserver.sh kube-controller-manager")
	scheduler := binary(t, "SLIPWAY_KUBE_SCHEDULER", DefaultScheduler, "kube-scheduler", "bash .ci/kube-apiserver.sh kube-scheduler")
	begun := time.Now()
	dir := t.TempDir()
	ports := testutil.FreePorts(t, 3)
	clientPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	start(t, filepath.Join(dir, "etcd.log"), nil, etcd, "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", "http://127.0.0.1:"+strconv.Itoa(peerPort), "--initial-advertise-peer-urls", "http://127.0.0.1:"+strconv.Itoa(peerPort),
		"--initial-cluster", "default=http://127.0.0.1:"+strconv.Itoa(peerPort))

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "sa.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	rand.Read(b)
	token := hex.EncodeToString(b)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+`,slipway-test,1,"system:masters"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, filepath.Join(dir, "apiserver.log"), nil, apiserver, append([]string{"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(apiPort), "--cert-dir", filepath.Join(dir, "certs"),
		"--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", keyFile,
		"--service-account-signing-key-file", keyFile, "--service-cluster-ip-range", "10.96.0.0/24",
		"--token-auth-file", tokens, "--authorization-mode", "RBAC",
		// The API server reaches a test node (StartNode) for pods' logs at
		// its InternalIP, with a certificate of the node's own.
		"--kubelet-preferred-address-types", "InternalIP",
		// A watch from resourceVersion 0 or none (kwok's) is a
		// watch-list request to an API server with WatchList (on since
		// 1.34), which needs etcd's RequestWatchProgress (3.5): on
		// Debian's etcd 3.4 every such watch fails at once, and its
		// client lives on relists, seconds late. Without WatchList the
		// API server serves them as a cluster with a newer etcd does.
		"--feature-gates=WatchList=false",
		"--profiling=false"}, o.APIServerFlags...)...)

	c := &Cluster{URL: "https://127.0.0.1:" + strconv.Itoa(apiPort), Token: token, dir: dir,
		CertFile: filepath.Join(dir, "certs", "apiserver.crt"), Kubeconfig: filepath.Join(dir, "admin.kubeconfig")}
	c.Client = &http.Client{Timeout: 30 * time.Second, Transport: &bearer{token: token, rt: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // its own self-signed certificate, on loopback
	}}}
	testutil.WaitFor(t, "the API server to be ready", func() bool {
		resp, err := c.Client.Get(c.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if err := c.writeKubeconfig(); err != nil {
		t.Fatal(err)
	}
	if c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	c.Config.QPS, c.Config.Burst = 200, 400 // the client's default 5/s would pace the tests
	if c.Clientset, err = kubernetes.NewForConfig(c.Config); err != nil {
		t.Fatal(err)
	}
	// Their own HTTPS endpoints (health, metrics) are off: nothing here
	// asks them, and each would need a port.
	start(t, filepath.Join(dir, "controller-manager.log"), nil, controllers, append([]string{"--kubeconfig", c.Kubeconfig,
		"--leader-elect=false", "--secure-port=0", "--use-service-account-credentials=false",
		"--service-account-private-key-file", keyFile, "--root-ca-file", c.CertFile,
		// What slipway's objects need: fewer controllers start sooner.
		"--controllers", controllerList,
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10", "--concurrent-job-syncs=10"}, o.ControllerManagerFlags...)...)
	start(t, filepath.Join(dir, "scheduler.log"), nil, scheduler, "--kubeconfig", c.Kubeconfig,
		"--leader-elect=false", "--secure-port=0")
	c.waitServiceAccount(t, "default")
	t.Logf("control plane ready in %v", time.Since(begun).Round(10*time.Millisecond))
	return c
}

// controllerList are the controllers the controller manager runs: those
// of workloads (Deployments, ReplicaSets, Jobs, CronJobs, StatefulSets,
// DaemonSets), ServiceAccounts, garbage collection, namespaces, nodes and
// pods, endpoints.
var controllerList = strings.Join([]string{
	"deployment-controller", "replicaset-controller", "job-controller", "cronjob-controller",
	"statefulset-controller", "daemonset-controller", "serviceaccount-controller",
	"root-ca-certificate-publisher-controller", "garbage-collector-controller", "namespace-controller",
	"node-lifecycle-controller", "taint-eviction-controller", "pod-garbage-collector-controller",
	"ttl-after-finished-controller", "endpoints-controller", "endpointslice-controller", "disruption-controller",
}, ",")

// binary returns the path of a program the tests build (a control plane
// server, kwok): env names it, or else def; without it the test ends with
// testutil.Missing, saying that the command build makes it.
func binary(t testing.TB, env, def, name, build string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		path = def
	}
	if _, err := os.Stat(path); err != nil {
		testutil.Missing(t, "no %s at %s: %s builds it (once per machine)", name, path, build)
	}
	return path
}

// writeKubeconfig writes c.Kubeconfig: the admin's token, the API
// server's certificate as its authority.
func (c *Cluster) writeKubeconfig() error {
	cert, err := os.ReadFile(c.CertFile)
	if err != nil {
		return fmt.Errorf("the API server's certificate: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: c.URL, CertificateAuthorityData: cert}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.Token}
	cfg.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "admin"}
	cfg.CurrentContext = "kubetest"
	return clientcmd.WriteToFile(*cfg, c.Kubeconfig)
}

// Namespace creates the namespace name and waits for the controller
// manager to give it its default ServiceAccount, without which the API
// server admits no pod in it.
func (c *Cluster) Namespace(t testing.TB, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Clientset.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	c.waitServiceAccount(t, name)
}

func (c *Cluster) waitServiceAccount(t testing.TB, ns string) {
	t.Helper()
	testutil.WaitFor(t, "the controller manager to make namespace "+ns+"'s default ServiceAccount", func() bool {
		_, err := c.Clientset.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{})
		return err == nil
	})
}

// server is a program start runs.
type server struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has ended
}

// kill ends the server at once (SIGKILL) and waits until it has.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// start runs a server for t with its output in logPath, and stops it
// (SIGTERM, then SIGKILL) when t ends. Its environment is env, or the
// test's when nil.
func start(t testing.TB, logPath string, env []string, bin string, args ...string) *server {
	t.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Bounded by the test run, not by testutil.Timeout (a wait's bound):
	// the servers must outlive the longest test that uses them.
	ctx, cancel := context.WithTimeout(context.Background(), serverBound)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // not left by a test binary that dies
	if err := cmd.Start(); err != nil {
		cancel()
		log.Close()
		t.Fatalf("start %s: %v", filepath.Base(bin), err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel() // SIGTERM, then SIGKILL after WaitDelay
		<-s.done
		log.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil && len(out) > 0 {
				tail := out[max(0, len(out)-4000):]
				t.Logf("%s's log, its end:\n%s", filepath.Base(bin), tail)
			}
		}
	})
	return s
}

// serverBound is the longest the control plane's servers run.
const serverBound = 20 * time.Minute

type bearer struct {
	token string
	rt    http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.rt.RoundTrip(r)
}

// String describes c for a test's log.
func (c *Cluster) String() string { return fmt.Sprintf("kube-apiserver at %s", c.URL) }
