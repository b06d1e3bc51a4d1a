// Package kubetest starts a real Kubernetes API server for tests, on
// loopback and a temp dir: Debian's etcd and a kube-apiserver built from
// the Go module proxy (.ci/kube-apiserver.sh, cached per machine outside
// the repo). Nothing schedules or runs pods: the API's semantics
// (objects, watches, authentication, RBAC) are the real ones.
//
// Imports: internal/testutil.
package kubetest
