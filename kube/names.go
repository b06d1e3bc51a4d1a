package kube

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway"
)

// DefaultNamespace is where slipway puts its objects unless told.
const DefaultNamespace = "slipway"

// Labels on every object slipway makes.
const (
	// LabelManagedBy=ManagedBy marks an object as slipway's: nothing
	// without it is ever updated or deleted.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "slipway"
	// LabelApp is the app's name.
	LabelApp = "slipway.dev/app"
	// LabelRelease is the release, "v3".
	LabelRelease = "slipway.dev/release"
	// LabelProcess is the process type: "web", "worker", …, ProcessRelease
	// for the release phase's Job, ProcessRun for a one-off run.
	LabelProcess = "slipway.dev/process"
)

// Process labels of pods that are not of a Procfile type.
const (
	ProcessRelease = "release"
	ProcessRun     = "run"
)

// The per-app ConfigMap's keys.
const (
	// KeyLive is the live release ("v3"); empty when the app is stopped.
	KeyLive = "live"
	// KeyDraining is the draining releases, newest first, separated by
	// spaces ("v2 v1"). A release in neither key is retired: routers drop
	// its pool (its sessions move to the live one).
	KeyDraining = "draining"
	// KeySwitched is when the control plane wrote KeyLive (RFC 3339, ns).
	KeySwitched = "switched"
	// KeyAsleep is the draining releases whose pods are scaled to 0,
	// separated by spaces: routers keep a sleeping pool for each, which
	// a pinned request wakes (the replica asks for it in its report's
	// Wake, and waits until the control plane has the pods Ready again
	// and takes the release out of KeyAsleep).
	KeyAsleep = "asleep"
	// KeyDomains is the app's own domains (domains:add), separated by
	// spaces: every replica routes them too.
	KeyDomains = "domains"
	// KeyMaintenance is "on" while the app is in maintenance, with the
	// page every request gets in KeyMaintenancePage (empty: the default).
	KeyMaintenance     = "maintenance"
	KeyMaintenancePage = "maintenance-page"
)

// The router Secret, and the pull Secret.
const (
	RouterSecret   = "slipway-router"
	KeyAffinityKey = "affinity-key"
	PullSecret     = "slipway-registry"
)

// WebPort is the port every web pod listens on: its PORT.
const WebPort = 5000

// AnnotationPools is the annotation of a router replica's Lease that
// holds its RouterReport as JSON.
const AnnotationPools = "slipway.dev/pools"

// LeaseDuration is how long a replica's Lease lasts without renewal: a
// replica that has not renewed it since is gone, and does not hold up a
// drain.
const LeaseDuration = 15 * time.Second

// RouterReport is what a router replica serves, by app.
type RouterReport struct {
	Apps map[string]AppReport `json:"apps"`
}

// AppReport is a replica's view of one app.
type AppReport struct {
	// Live is the release the replica sends new clients to.
	Live string `json:"live"`
	// Switched is when the replica made Live live (its clock).
	Switched time.Time `json:"switched"`
	// Draining is each draining release the replica still has a pool of.
	Draining map[string]PoolReport `json:"draining,omitempty"`
	// Wake is the sleeping releases a pinned request waits for here.
	Wake []string `json:"wake,omitempty"`
}

// PoolReport is a replica's view of one draining release.
type PoolReport struct {
	// LastSeen is the replica's last request to the pool (zero: none).
	LastSeen time.Time `json:"last_seen"`
	// InFlight is how many requests it has in flight on it now.
	InFlight int64 `json:"in_flight"`
	// Sessions is how many pinned sessions it saw since the pool drains.
	Sessions int `json:"sessions"`
}

// AppConfigMap is the name of app's ConfigMap.
func AppConfigMap(app string) string { return "slipway-app-" + app }

// LeaseName is the name of a router replica's Lease.
func LeaseName(replica string) string { return "slipway-router-" + replica }

// DeploymentName is the Deployment of process type typ of release v:
// NAME-vN for web, NAME-vN-TYPE for the others.
func DeploymentName(app string, v slipway.Version, typ string) string {
	if typ == "web" {
		return app + "-" + v.String()
	}
	return app + "-" + v.String() + "-" + typ
}

// ConfigSecretName is the Secret of release v's config vars.
func ConfigSecretName(app string, v slipway.Version) string {
	return app + "-" + v.String() + "-config"
}

// ReleaseJobName is the Job of release v's release phase.
func ReleaseJobName(app string, v slipway.Version) string {
	return app + "-" + v.String() + "-release"
}

// ParseVersion reads "v3" back, as labels and the ConfigMap hold it.
func ParseVersion(s string) (slipway.Version, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || !strings.HasPrefix(s, "v") || n <= 0 {
		return 0, fmt.Errorf("not a release: %q", s)
	}
	return slipway.Version(n), nil
}

// Draining reads KeyDraining.
func Draining(s string) []string { return strings.Fields(s) }
