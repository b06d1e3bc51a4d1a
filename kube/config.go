package kube

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"
)

// ClientConfig says how to reach and authenticate to an API server.
type ClientConfig struct {
	// Server is the API server's URL, https://HOST:PORT.
	Server string
	// CAData is the PEM of the authorities its certificate is checked
	// against; the system's when empty.
	CAData []byte
	// Insecure skips the check of its certificate.
	Insecure bool
	// Token is a bearer token; TokenFile a file holding one, read again
	// whenever it changes (a pod's service account token rotates).
	Token     string
	TokenFile string
	// CertData and KeyData are a client certificate and its key (PEM).
	CertData, KeyData []byte
	// Namespace is the kubeconfig context's or the pod's namespace, if
	// it says one.
	Namespace string
	// UserAgent is sent with every request.
	UserAgent string
}

// NewClient returns a Client of cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	if !strings.HasPrefix(cfg.Server, "https://") && !strings.HasPrefix(cfg.Server, "http://") {
		return nil, fmt.Errorf("the API server's address %q: want https://HOST:PORT", cfg.Server)
	}
	tc := &tls.Config{InsecureSkipVerify: cfg.Insecure, MinVersion: tls.VersionTLS12}
	if len(cfg.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAData) {
			return nil, errors.New("the API server's certificate authority: no PEM certificate in it")
		}
		tc.RootCAs = pool
	}
	if len(cfg.CertData) > 0 || len(cfg.KeyData) > 0 {
		cert, err := tls.X509KeyPair(cfg.CertData, cfg.KeyData)
		if err != nil {
			return nil, fmt.Errorf("the client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		// A connection that went silent (the API server's machine is
		// gone) is found by a ping: a watch on it would wait forever.
		HTTP2:               &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
		MaxIdleConnsPerHost: 25,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &Client{server: strings.TrimRight(cfg.Server, "/"), http: &http.Client{Transport: tr}, agent: cfg.UserAgent}
	if cfg.Token != "" || cfg.TokenFile != "" {
		c.token = &tokenSource{token: cfg.Token, file: cfg.TokenFile}
	}
	return c, nil
}

// tokenSource is the bearer token, from a file read again when it
// changes.
type tokenSource struct {
	file string

	mu    sync.Mutex
	token string
	mtime time.Time
	size  int64
}

func (s *tokenSource) get() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == "" {
		return s.token, nil
	}
	fi, err := os.Stat(s.file)
	if err != nil {
		if s.token != "" {
			return s.token, nil // being replaced: the last one read
		}
		return "", fmt.Errorf("the token file: %w", err)
	}
	if s.token != "" && fi.ModTime().Equal(s.mtime) && fi.Size() == s.size {
		return s.token, nil
	}
	b, err := os.ReadFile(s.file)
	if err != nil {
		return "", fmt.Errorf("the token file: %w", err)
	}
	s.token, s.mtime, s.size = strings.TrimSpace(string(b)), fi.ModTime(), fi.Size()
	return s.token, nil
}

// kubeconfig is the part of a kubeconfig file slipway reads.
type kubeconfig struct {
	CurrentContext string `json:"current-context"`
	Clusters       []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthority     string `json:"certificate-authority"`
			CertificateAuthorityData []byte `json:"certificate-authority-data"`
			InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string `json:"name"`
		User struct {
			Token                 string `json:"token"`
			TokenFile             string `json:"tokenFile"`
			ClientCertificate     string `json:"client-certificate"`
			ClientCertificateData []byte `json:"client-certificate-data"`
			ClientKey             string `json:"client-key"`
			ClientKeyData         []byte `json:"client-key-data"`
			Exec                  any    `json:"exec"`
			AuthProvider          any    `json:"auth-provider"`
			Username              string `json:"username"`
		} `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster   string `json:"cluster"`
			User      string `json:"user"`
			Namespace string `json:"namespace"`
		} `json:"context"`
	} `json:"contexts"`
}

// LoadKubeconfig reads the kubeconfig file path: its current context's
// cluster and user. Paths in it are relative to its directory. Only a
// token or a client certificate authenticates: exec and auth-provider
// plugins are not run.
func LoadKubeconfig(path string) (ClientConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ClientConfig{}, fmt.Errorf("kubeconfig: %w", err)
	}
	var kc kubeconfig
	if err := yaml.Unmarshal(b, &kc); err != nil {
		return ClientConfig{}, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	bad := func(format string, args ...any) (ClientConfig, error) {
		return ClientConfig{}, fmt.Errorf("kubeconfig %s: "+format, append([]any{path}, args...)...)
	}
	if kc.CurrentContext == "" {
		return bad("no current-context")
	}
	ctxi := indexByName(len(kc.Contexts), func(i int) string { return kc.Contexts[i].Name }, kc.CurrentContext)
	if ctxi < 0 {
		return bad("no context %q (its current-context)", kc.CurrentContext)
	}
	cx := kc.Contexts[ctxi].Context
	cli := indexByName(len(kc.Clusters), func(i int) string { return kc.Clusters[i].Name }, cx.Cluster)
	if cli < 0 {
		return bad("no cluster %q (of context %q)", cx.Cluster, kc.CurrentContext)
	}
	cl := kc.Clusters[cli].Cluster
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	cfg := ClientConfig{Server: cl.Server, CAData: cl.CertificateAuthorityData, Insecure: cl.InsecureSkipTLSVerify, Namespace: cx.Namespace}
	if cfg.Server == "" {
		return bad("cluster %q has no server", cx.Cluster)
	}
	if len(cfg.CAData) == 0 && cl.CertificateAuthority != "" {
		if cfg.CAData, err = os.ReadFile(rel(cl.CertificateAuthority)); err != nil {
			return bad("certificate-authority: %v", err)
		}
	}
	if cx.User == "" {
		return cfg, nil
	}
	ui := indexByName(len(kc.Users), func(i int) string { return kc.Users[i].Name }, cx.User)
	if ui < 0 {
		return bad("no user %q (of context %q)", cx.User, kc.CurrentContext)
	}
	u := kc.Users[ui].User
	if u.Exec != nil || u.AuthProvider != nil {
		return bad("user %q signs in with a plugin (exec or auth-provider), which slipway does not run: give it a token (a service account's: kubectl create token) or a client certificate", cx.User)
	}
	cfg.Token, cfg.TokenFile = u.Token, rel(u.TokenFile)
	cfg.CertData, cfg.KeyData = u.ClientCertificateData, u.ClientKeyData
	if len(cfg.CertData) == 0 && u.ClientCertificate != "" {
		if cfg.CertData, err = os.ReadFile(rel(u.ClientCertificate)); err != nil {
			return bad("client-certificate: %v", err)
		}
	}
	if len(cfg.KeyData) == 0 && u.ClientKey != "" {
		if cfg.KeyData, err = os.ReadFile(rel(u.ClientKey)); err != nil {
			return bad("client-key: %v", err)
		}
	}
	if cfg.Token == "" && cfg.TokenFile == "" && len(cfg.CertData) == 0 {
		return bad("user %q has neither a token nor a client certificate, which is what slipway signs in with", cx.User)
	}
	return cfg, nil
}

func indexByName(n int, name func(int) string, want string) int {
	for i := range n {
		if name(i) == want {
			return i
		}
	}
	return -1
}

// ErrNotInCluster says that slipway does not run in a pod.
var ErrNotInCluster = errors.New("not in a cluster's pod: no KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT")

// serviceAccountDir is where a pod finds its service account.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// InClusterConfig is the configuration of a pod's service account.
func InClusterConfig() (ClientConfig, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return ClientConfig{}, ErrNotInCluster
	}
	cfg := ClientConfig{Server: "https://" + net.JoinHostPort(host, port), TokenFile: filepath.Join(serviceAccountDir, "token")}
	if _, err := os.Stat(cfg.TokenFile); err != nil {
		return ClientConfig{}, fmt.Errorf("the pod's service account token: %w", err)
	}
	ca, err := os.ReadFile(filepath.Join(serviceAccountDir, "ca.crt"))
	if err != nil {
		return ClientConfig{}, fmt.Errorf("the cluster's certificate authority: %w", err)
	}
	cfg.CAData = ca
	if ns, err := os.ReadFile(filepath.Join(serviceAccountDir, "namespace")); err == nil {
		cfg.Namespace = strings.TrimSpace(string(ns))
	}
	return cfg, nil
}
