package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// slipway talks to a cluster with kube's own client: client-go's
// clientset registers every API group and took the binary from 51 MB to
// 115 MB and `slipway version` from 38 MB RSS to 78 MB. Only the tests
// may use it.
func TestBinary_DoesNotLinkClientGo(t *testing.T) {
	cmd := testutil.Command(t, 2*time.Minute, "go", "list", "-deps", ".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for pkg := range strings.SplitSeq(string(out), "\n") {
		if strings.HasPrefix(pkg, "k8s.io/client-go/") || pkg == "k8s.io/client-go" {
			t.Errorf("slipway links %s: use kube.Client, not client-go, outside tests", pkg)
		}
	}
}

// A kubeconfig whose user signs in with a plugin is refused in one line
// that says what to give instead.
func TestKubeClient_PluginUserIsOneClearLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := `apiVersion: v1
kind: Config
current-context: c
clusters:
- name: k
  cluster: {server: "https://127.0.0.1:6443"}
contexts:
- name: c
  context: {cluster: k, user: u}
users:
- name: u
  user:
    exec: {command: aws, args: [eks, get-token]}
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := kubeClient(path)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "token") {
		t.Fatalf("kubeClient: %v, want one line saying to give a token", err)
	}
}
