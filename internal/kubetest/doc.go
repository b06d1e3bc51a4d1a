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
// timestamps and sinceTime: a line's time is when the node first read it)
// and for attach (.../pods/NAME/attach).
//
// Attach: a container whose spec has stdin or tty runs with its standard
// streams held by the node, as a container runtime holds them: pipes, or
// with tty a terminal of its own (runc's copy of a pty the node holds,
// with TERM=xterm as containerd sets it), whose size each attach's resize
// messages set. What it writes goes to its log whether anyone is attached
// or not, and to the sessions attached at the time: a session gets what
// is written after it attached, never what came before (kubelet replays
// nothing either). As with containerd, the end of a session's stdin
// detaches the session, but with stdinOnce and no tty: the container's
// stdin is then closed for good, and the session keeps the output until
// the container ends. The container's exit is its status's, as any
// other's; attach itself answers no exit code. The API server translates a
// client's WebSocket (v5.channel.k8s.io) to SPDY towards the node, which
// declares no ExtendWebSocketsToKubelet, and the node speaks it with
// kubelet's own streaming server (k8s.io/cri-streaming's ServeAttach):
// for a client's stdin=true&stdout=true&tty=true the node sees POST
// /attach/NS/POD/CONTAINER?input=1&output=1&tty=1, Upgrade: SPDY/3.1,
// over HTTP/1.1.
//
// The test binary must call supervisor.Reexec first in its TestMain.
// Node.Stop (at the test's end) leaves nothing: no container, process,
// cgroup, network namespace or file; what a killed test binary's nodes
// left, the next StartNode on the machine sweeps (janitor.go).
//
// Fake nodes (StartFakeNode) are for node loss: a kwok process of their
// own (sigs.k8s.io/kwok, built by .ci/kwok.sh into the same cache) renews their Lease and marks the pods bound to them Running and
// Ready at once, with addresses of the node's PodCIDR; killing it (Kill)
// is the node's loss, which a control plane started with QuickNodeLoss
// finds in seconds. Nothing runs and nothing listens behind a fake pod's
// address, which a router test would take for the truth: a test that
// routes to fake pods gives their node a PodCIDR in 127.0.0.0/8 and
// listens at the addresses itself.
//
// Where the test node is stricter or simpler than a kubelet: containers'
// root filesystems are read-only (the supervisor's image runtime mounts
// them so: give a pod an emptyDir for what it writes; /tmp is writable),
// other volumes than emptyDir are not mounted (the service account token
// neither), a container may bind only its declared ports, its probes' and
// its PORT, image users must be numeric, exec and gRPC probes fail,
// startup probes and init containers are not run, exec is not served,
// attach only to a container with stdin or tty (kubelet attaches to any
// container's output), a client that falls 4 MiB behind an attached
// container's output is detached (containerd's would stall the
// container), a log holds every start of its container (no previous) and,
// without tty, a container's stdout and stderr in the order they were
// copied (each from its own pipe), and pods do not reach each other, only
// the host at HostGateway (forwarding is a setting of the whole machine,
// left alone).
//
// Imports: internal/testutil, supervisor, images, k8s.io/*, go-containerregistry, creack/pty.
package kubetest
