package kubetest

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The API server answers its admin's token, creates and reads objects,
// and refuses anonymous requests.
func TestStart_ServesTheAPI(t *testing.T) {
	c := Start(t)
	resp, err := c.Client.Post(c.URL+"/api/v1/namespaces", "application/json",
		strings.NewReader(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"slipway"}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create a namespace: %s\n%s", resp.Status, body)
	}
	resp, err = c.Client.Get(c.URL + "/api/v1/namespaces/slipway")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"slipway"`) {
		t.Errorf("read it back: %s\n%s", resp.Status, body)
	}
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err = anon.Get(c.URL + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("an anonymous request: %s", resp.Status)
	}
}

// The admin kubeconfig reaches the API server with its certificate
// verified, and the controller manager runs: a namespace gets its
// default ServiceAccount.
func TestStart_KubeconfigAndControllers(t *testing.T) {
	c := Start(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Insecure || len(cfg.CAData) == 0 {
		t.Errorf("the kubeconfig does not verify the API server's certificate: %+v", cfg.TLSClientConfig)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{}); err != nil {
		t.Errorf("read namespace default with the kubeconfig: %v", err)
	}
	c.Namespace(t, "apps")
}
