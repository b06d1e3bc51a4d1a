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
// an address in PodCIDR that the host reaches (so every pod listens on
// the same port, as on a cluster), its images are pulled from their
// registry with the pod's pull secret and unpacked once per digest, and
// each container runs with slipway's own image runtime (package
// supervisor: runc, the sandbox launcher, a cgroup with the container's
// limits), as its securityContext's user, with its env, envFrom and
// fieldRefs resolved through the API. The node reports the pods' status
// through the API as kubelet does: Running once started, Ready only once
// the readiness probe (httpGet, tcpSocket) passes against the pod's
// address; a failing liveness probe restarts the container; containers
// that exit are started again after a backoff, or end the pod Succeeded
// or Failed with their exit code, by restartPolicy; a deleted pod gets its
// preStop sleep, SIGTERM and SIGKILL after its grace period, and its
// object is then deleted. Events (Pulled, Started, Unhealthy, BackOff,
// Killing, Failed) go through the API, and the API server reaches the
// node for pods' logs (GET .../pods/NAME/log, with tailLines, follow,
// timestamps and sinceTime: a line's time is when the node first read it).
// The test binary must call supervisor.Reexec first in its TestMain.
// Node.Stop (at the test's end) leaves nothing: no container, process,
// cgroup, network namespace or file; what a killed test binary's nodes
// left, the next StartNode on the machine sweeps (janitor.go).
//
// Not kwok: kwok's pod stages mark pods Running and Ready with nothing
// listening behind their addresses, which a router test would take for
// the truth.
//
// Where the test node is stricter or simpler than a kubelet: containers'
// root filesystems are read-only (the supervisor's image runtime mounts
// them so: give a pod an emptyDir for what it writes; /tmp is writable),
// other volumes than emptyDir are not mounted (the service account token
// neither), a container may bind only its declared ports, its probes' and
// its PORT, image users must be numeric, exec and gRPC probes fail,
// startup probes and init containers are not run, exec and attach are not
// served, a log holds every start of its container (no previous), and
// pods do not reach each other, only the host at HostGateway (forwarding
// is a setting of the whole machine, left alone).
//
// Imports: internal/testutil, supervisor, images, k8s.io/*, go-containerregistry.
package kubetest
