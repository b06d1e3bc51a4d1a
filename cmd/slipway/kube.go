package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/apps"
	"github.com/slipway/slipway/kube"
	"github.com/slipway/slipway/registry"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/router"
)

// Schedulers: where the apps run.
const (
	SchedulerLocal      = "local"
	SchedulerKubernetes = "kubernetes"
)

var _ apps.Runtime = (*kube.Scheduler)(nil)

// kubeClient talks to the cluster of the kubeconfig file path, or, with
// none, to the one slipway runs in (its pod's service account).
func kubeClient(path string) (*kube.Client, error) {
	var cfg kube.ClientConfig
	var err error
	if path == "" {
		cfg, err = kube.InClusterConfig()
		if errors.Is(err, kube.ErrNotInCluster) {
			return nil, errors.New("no cluster: give --kubeconfig FILE, or run slipway in a pod of the cluster")
		}
	} else {
		cfg, err = kube.LoadKubeconfig(path)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes config: %w", err)
	}
	cfg.UserAgent = "slipway"
	return kube.NewClient(cfg)
}

// kubePullUser is the user name of the credential the cluster's nodes
// pull the releases' images with; its password is derived from the admin
// token (kubePullPassword), so that it stays the same across restarts
// without being kept anywhere but in the cluster's pull Secret.
const kubePullUser = "kubernetes"

func kubePullPassword(adminToken string) string {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("slipway registry pull for the cluster's nodes"))
	return hex.EncodeToString(m.Sum(nil))
}

// kubePull reports whether user and password are the nodes' pull
// credential.
func kubePull(user, password, adminToken string) bool {
	return user == kubePullUser && subtle.ConstantTimeCompare([]byte(password), []byte(kubePullPassword(adminToken))) == 1
}

// kubeWiring runs the apps on a cluster (--scheduler kubernetes): the
// apps' runtime is a kube.Scheduler, and this process's router is one of
// the router replicas (a kube.Watcher), beside any `slipway router`.
type kubeWiring struct {
	client  *kube.Client
	ns      string
	sched   *kube.Scheduler // made by runtime's function, in apps.New
	watcher *kube.Watcher
	stop    context.CancelFunc
	done    chan struct{}
}

// pages is what the application layer tells the router of an app beyond
// its pools: serve's own router, and with a cluster the scheduler too,
// which passes it on to every other replica.
type pages interface {
	apps.Hosts
	SetMaintenance(app string, on bool, page []byte)
	SetStopped(app string, stopped bool)
	SetUndeployed(app string, undeployed bool)
}

// pages returns rt, told also to the scheduler's replicas.
func (k *kubeWiring) pages(rt pages) pages {
	if k == nil {
		return rt
	}
	return kubePages{rt, k}
}

type kubePages struct {
	pages
	k *kubeWiring
}

func (p kubePages) SetDomains(app string, domains []string) {
	p.pages.SetDomains(app, domains)
	if p.k.sched != nil {
		p.k.sched.SetDomains(app, domains)
	}
}

func (p kubePages) SetMaintenance(app string, on bool, page []byte) {
	p.pages.SetMaintenance(app, on, page)
	if p.k.sched != nil {
		p.k.sched.SetMaintenance(app, on, page)
	}
}

func openKube(cfg serveConfig) (*kubeWiring, error) {
	if cfg.Scheduler != SchedulerKubernetes {
		return nil, nil
	}
	if cfg.RegistryAddr == "" {
		return nil, errors.New("--scheduler kubernetes runs every release from slipway's registry: give --registry-addr (and --kube-registry, the address the nodes reach it at)")
	}
	client, err := kubeClient(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// A namespaced read: slipway's role (docs/kubernetes/rbac.yaml) has
	// no rights outside its namespace.
	if _, err := client.CoreV1().ConfigMaps(cfg.Namespace).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return nil, fmt.Errorf("the cluster, namespace %s: %s (kubectl apply -f docs/kubernetes/rbac.yaml makes the namespace and slipway's role)", cfg.Namespace, slipway.OneLine(err.Error(), 200))
	}
	return &kubeWiring{client: client, ns: cfg.Namespace}, nil
}

// runtime makes the apps' runtime; registryAddr is where the registry
// listens, which the nodes reach unless --kube-registry says otherwise.
func (k *kubeWiring) runtime(cfg serveConfig, registryAddr string, reg *registry.Registry, svc func() *apps.Service, adminToken string, key []byte) func(releaser.Config) apps.Runtime {
	host := cfg.KubeRegistry
	if host == "" {
		host = registryAddr
	}
	return func(rc releaser.Config) apps.Runtime {
		k.sched = kube.New(kube.Config{
			Client: k.client, Namespace: k.ns, Registry: host, AffinityKey: key,
			ImageDigest: func(ctx context.Context, app, tag string) (string, error) {
				img, err := reg.Image(ctx, app, tag)
				return img.Digest, err
			},
			PullAuth: func(context.Context) (string, string, error) {
				return kubePullUser, kubePullPassword(adminToken), nil
			},
			Limits: func(ctx context.Context, app string) (map[string]slipway.Limits, error) {
				return svc().Resources(ctx, app)
			},
		}, rc)
		return k.sched
	}
}

// startRouter makes rt a router replica until stopRouter.
func (k *kubeWiring) startRouter(rt *router.Router, logger *slog.Logger) {
	replica, _ := os.Hostname()
	if r := os.Getenv("POD_NAME"); r != "" {
		replica = r
	}
	// The pid tells apart the two processes of an upgrade, which
	// overlap: each reports in a Lease of its own.
	replica += "-control-" + strconv.Itoa(os.Getpid())
	k.watcher = kube.NewWatcher(kube.WatcherConfig{Client: k.client, Namespace: k.ns, Replica: replica, Router: rt, Logger: logger})
	ctx, cancel := context.WithCancel(context.Background())
	k.stop, k.done = cancel, make(chan struct{})
	go func() {
		defer close(k.done)
		if err := k.watcher.Run(ctx); err != nil {
			logger.Error("router replica", "err", err)
		}
	}()
}

func (k *kubeWiring) stopRouter() {
	if k == nil || k.stop == nil {
		return
	}
	k.stop()
	<-k.done
}
