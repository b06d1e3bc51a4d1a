package kubetest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway/images"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/registry"
)

// testRegistry is slipway's registry on 127.0.0.1, which the user
// "slipway" pushes to and "node" pulls from, each with a password.
type testRegistry struct {
	host           string
	nodePassword   string
	pusherPassword string
}

func startRegistry(t testing.TB) *testRegistry {
	t.Helper()
	tr := &testRegistry{nodePassword: "pull-0123456789", pusherPassword: "push-0123456789"}
	r, err := registry.New(context.Background(), registry.Config{Root: t.TempDir() + "/registry",
		Logger: slog.New(slog.DiscardHandler),
		Check: func(user, password string) registry.Access {
			switch {
			case user == "slipway" && subtle.ConstantTimeCompare([]byte(password), []byte(tr.pusherPassword)) == 1:
				return registry.Push
			case user == "node" && subtle.ConstantTimeCompare([]byte(password), []byte(tr.nodePassword)) == 1:
				return registry.Pull
			}
			return registry.NoAccess
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

// pushBusybox pushes images.BusyboxImage as NAME:TAG and returns its
// reference.
func (tr *testRegistry) pushBusybox(t testing.TB, nameTag string) string {
	t.Helper()
	img, err := images.BusyboxImage()
	if err != nil {
		testutil.Missing(t, "%v", err)
	}
	ref := tr.host + "/" + nameTag
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := images.Push(ctx, img, ref, nil, &authn.Basic{Username: "slipway", Password: tr.pusherPassword}); err != nil {
		t.Fatal(err)
	}
	return ref
}

// pullSecret creates the Secret NAME of type dockerconfigjson in ns
// with the node's credentials.
func (tr *testRegistry) pullSecret(t testing.TB, c *Cluster, ns, name string) {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{tr.host: map[string]string{"username": "node", "password": tr.nodePassword}}})
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: cfg}}
	if _, err := c.Clientset.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// get returns the body of url, "" when nothing answers.
func get(url string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
