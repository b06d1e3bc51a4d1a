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
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// DefaultAPIServer is where .ci/kube-apiserver.sh keeps the API server it
// builds; SLIPWAY_KUBE_APISERVER names another.
const DefaultAPIServer = "/var/cache/slipway-kube/kube-apiserver-v1.37.2"

// Cluster is a running API server.
type Cluster struct {
	// URL is the API server's, https://127.0.0.1:PORT; its certificate
	// is self-signed (Client trusts it).
	URL string
	// Token is a bearer token of a cluster admin (system:masters).
	Token string
	// Client is an HTTP client that trusts the API server's certificate
	// and sends Token.
	Client *http.Client
}

// Start starts etcd and kube-apiserver for t and stops them when t ends.
// Without them it ends the test with testutil.Missing, saying how to get
// them.
func Start(t testing.TB) *Cluster {
	t.Helper()
	etcd := testutil.NeedTool(t, "etcd", "etcd-server")
	apiserver := os.Getenv("SLIPWAY_KUBE_APISERVER")
	if apiserver == "" {
		apiserver = DefaultAPIServer
	}
	if _, err := os.Stat(apiserver); err != nil {
		testutil.Missing(t, "no kube-apiserver at %s: bash .ci/kube-apiserver.sh builds it (once per machine)", apiserver)
	}
	dir := t.TempDir()
	clientPort, peerPort, apiPort := testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	start(t, filepath.Join(dir, "etcd.log"), etcd, "--data-dir", filepath.Join(dir, "etcd"),
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
	start(t, filepath.Join(dir, "apiserver.log"), apiserver, "--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(apiPort), "--cert-dir", filepath.Join(dir, "certs"),
		"--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", keyFile,
		"--service-account-signing-key-file", keyFile, "--service-cluster-ip-range", "10.96.0.0/24",
		"--token-auth-file", tokens, "--authorization-mode", "RBAC")

	c := &Cluster{URL: "https://127.0.0.1:" + strconv.Itoa(apiPort), Token: token}
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
	return c
}

// start runs a server for t with its output in logPath, and stops it
// (SIGTERM, then SIGKILL) when t ends.
func start(t testing.TB, logPath, bin string, args ...string) {
	t.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		log.Close()
		t.Fatalf("start %s: %v", filepath.Base(bin), err)
	}
	t.Cleanup(func() {
		cancel() // SIGTERM, then SIGKILL after WaitDelay
		cmd.Wait()
		log.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil && len(out) > 0 {
				tail := out[max(0, len(out)-4000):]
				t.Logf("%s's log, its end:\n%s", filepath.Base(bin), tail)
			}
		}
	})
}

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
