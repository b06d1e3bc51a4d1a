package kubetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway/images"
)

// pulled is an image the node has unpacked.
type pulled struct {
	digest string
	rootfs string
	config images.ImageConfig
}

// pull fetches ref from its registry with the pod's pull secrets and
// unpacks it, once per digest.
func (n *Node) pull(ctx context.Context, obj *corev1.Pod, ref string) (*pulled, error) {
	auth, err := n.pullAuth(ctx, obj, ref)
	if err != nil {
		return nil, err
	}
	img, err := images.Pull(ctx, ref, nil, auth)
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	cfg, err := images.Config(img)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	n.pullMu.Lock()
	defer n.pullMu.Unlock()
	n.mu.Lock()
	rootfs, ok := n.rootfs[d.String()]
	n.mu.Unlock()
	if !ok {
		rootfs = filepath.Join(n.dir, "images", d.Hex)
		if err := os.MkdirAll(filepath.Dir(rootfs), 0o755); err != nil {
			return nil, err
		}
		if err := images.Unpack(ctx, img, rootfs); err != nil {
			return nil, err
		}
		n.mu.Lock()
		n.rootfs[d.String()] = rootfs
		n.mu.Unlock()
	}
	return &pulled{digest: d.String(), rootfs: rootfs, config: cfg}, nil
}

// pullAuth is the credential of ref's registry in the pod's
// imagePullSecrets (kubernetes.io/dockerconfigjson), anonymous if none.
func (n *Node) pullAuth(ctx context.Context, obj *corev1.Pod, ref string) (authn.Authenticator, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("image %q: %v", ref, err)
	}
	registry := r.Context().RegistryStr()
	for _, ps := range obj.Spec.ImagePullSecrets {
		s, err := n.c.Clientset.CoreV1().Secrets(obj.Namespace).Get(ctx, ps.Name, metav1.GetOptions{})
		if err != nil {
			continue // kubelet goes on without a pull secret it cannot read
		}
		var cfg struct {
			Auths map[string]struct {
				Username, Password, Auth string
			} `json:"auths"`
		}
		if s.Type != corev1.SecretTypeDockerConfigJson || json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) != nil {
			continue
		}
		for host, a := range cfg.Auths {
			host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/")
			if host != registry {
				continue
			}
			if a.Username == "" && a.Auth != "" {
				if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					a.Username, a.Password, _ = strings.Cut(string(raw), ":")
				}
			}
			return &authn.Basic{Username: a.Username, Password: a.Password}, nil
		}
	}
	return authn.Anonymous, nil
}
