// Package kube is slipway's second runtime: it runs an app's releases on
// a Kubernetes cluster instead of as local processes, behind the same
// use cases (package apps drives it through the same interface as the
// releaser). The control plane (git over ssh, builds, the registry, the
// history, the page) stays one slipway process; the cluster runs the
// pods; slipway's router, as N replicas, is the edge.
//
// What it puts in the cluster, in one namespace, every object labelled
// LabelManagedBy=ManagedBy (objects without it are never changed):
//
//   - per release vN of app NAME: the Secret NAME-vN-config (its config
//     vars), the Deployment NAME-vN (web) and NAME-vN-TYPE (each other
//     process type, no Service), CronJobs NAME-vN-cron-N, and the Job
//     NAME-vN-release of its release phase;
//   - per app: the ConfigMap slipway-app-NAME, whose Data[KeyLive] names
//     the live release, Data[KeyDraining] the draining ones and
//     Data[KeyAsleep] those of them scaled to 0: the switch is one update
//     of it;
//   - once: the Secret slipway-router (the affinity cookies' key, which
//     every router replica signs with) and the pull Secret
//     slipway-registry (a pull token of slipway's registry);
//   - per router replica: the Lease slipway-router-REPLICA, renewed every
//     few seconds, whose annotation AnnotationPools reports what the
//     replica serves (RouterReport): the control plane retires a draining
//     release once every live replica reports it idle.
//
// Scheduler (scheduler.go) is the control plane's side, Watcher
// (watcher.go) a router replica's. The scheduler also follows its pods'
// output into the apps' logs (podlogs.go). Both talk to the API server with
// Client (client.go, config.go), a small client of the few resources
// they use, and keep their watches in a list+watch cache (informer.go):
// not client-go, whose clientset registers every API group and took
// slipway's binary from 51 MB to 115 MB. Only tests may use client-go.
//
// Imports: slipway, releaser, router, supervisor, internal/*, k8s.io/api,
// k8s.io/apimachinery, sigs.k8s.io/yaml.
package kube
