// Package kubetest starts a real Kubernetes control plane for tests, on
// loopback and a temp dir: Debian's etcd, and kube-apiserver,
// kube-controller-manager and kube-scheduler built from the Go module
// proxy (.ci/kube-apiserver.sh, cached per machine outside the repo). The
// API's semantics (objects, watches, authentication, RBAC) and the
// controllers' (Deployments, ReplicaSets, Jobs, garbage collection,
// ServiceAccounts, node lifecycle) and the scheduler's are the real ones.
//
// A test node (StartNode) plays kubelet for the pods bound to it, and
// runs them for real: each pod gets a network namespace of its own with
// an address in PodCIDR that the host reaches, its images are pulled
// from their registry with the pod's pull secret and unpacked, and each
// container runs with slipway's own image runtime (package supervisor:
// runc, the sandbox launcher, a cgroup). It reports the pods' status
// through the API as kubelet does: Running once started, Ready only once
// the readiness probe (httpGet, tcpSocket) passes against the pod's
// address; containers that exit are started again or end the pod
// Succeeded or Failed by its restartPolicy; a deleted pod gets its preStop
// sleep, SIGTERM and SIGKILL after its grace period, and its object is
// then deleted. The API server reaches it for pods' logs.
//
// Not kwok: kwok's pod stages mark pods Running and Ready with nothing
// listening behind their addresses, which a router test would take for
// the truth.
//
// What the test node does not do, stricter or simpler than a kubelet:
// containers' root filesystems are read-only (emptyDir volumes are
// writable, other volumes are not mounted), a container may bind only
// its declared ports, its probes' and its PORT, image users must be
// numeric, exec and gRPC probes fail, liveness and startup probes are
// not run, init containers are not run, and pods do not reach each
// other (only the host, at HostGateway).
//
// Imports: internal/testutil, supervisor, images, k8s.io/*, go-containerregistry.
package kubetest
