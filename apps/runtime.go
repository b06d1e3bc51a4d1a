package apps

import (
	"context"
	"io"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// Runtime is where an app's releases run: what the use cases need to
// start a release's pools, wait until they are ready, switch, drain and
// retire. The releaser (local processes) is one; package kube (a
// Kubernetes cluster) is the other. Config.NewRuntime picks it.
type Runtime interface {
	Start()
	StopGrace() time.Duration
	Shutdown(ctx context.Context) error

	// ReleasePhase runs spec's release command, if any, to its end;
	// Release starts spec's pools and switches to them.
	ReleasePhase(ctx context.Context, spec releaser.Spec, out io.Writer) error
	Release(ctx context.Context, spec releaser.Spec, out io.Writer) error
	Promote(ctx context.Context, name string, target, v slipway.Version, out io.Writer) (bool, error)
	Restart(ctx context.Context, name string, out io.Writer) error
	Scale(ctx context.Context, name, typ string, n int, out io.Writer) error
	CheckScale(name, typ string, n int) error
	RetireNow(app string, v slipway.Version) error
	Forget(name string)
	SetAutosleep(app string, after time.Duration, workers bool)

	// What runs now.
	Apps() []releaser.AppStatus
	Processes(name string) []releaser.ProcessStatus
	Draining(name string) []releaser.DrainStatus
	CronList(name string) []releaser.CronEntry

	// One-off runs, and their lines in the app's log.
	RunOneOff(ctx context.Context, spec releaser.Spec, id string, argv []string, t slipway.Terminal) (int, error)
	RunDetached(spec releaser.Spec, id, command string) error
	LogLine(app, id, release, text string)

	// Restoring after a restart, and handing over in an upgrade.
	Adopt(ctx context.Context, spec releaser.Spec, recs []slipway.InstanceRecord) (adopted int, err error)
	AdoptDraining(ctx context.Context, spec releaser.Spec, recs []slipway.InstanceRecord, asleep time.Time) error
	AdoptAsleep(spec releaser.Spec, recs []slipway.InstanceRecord, asleep time.Time) bool
	Detach()
	Resume()
	Abandon()
}

var _ Runtime = (*releaser.Releaser)(nil)

// imageRuntime is a Runtime whose releases must be images in slipway's
// registry before they are released (the cluster's nodes pull them).
type imageRuntime interface{ RunsImages() bool }

// reconciler is a Runtime that removes, once the restore is done, what
// it runs that no release of the history claims: keep holds, by app, the
// releases the history has live or draining (an app with none is there,
// empty); an app not in keep is not in the history.
type reconciler interface {
	Reconcile(ctx context.Context, keep map[string][]slipway.Version)
}

// historyKeeps returns, by app, the releases the history has live or
// draining, for a reconciler; nil when the history cannot be read (the
// reconciler then removes nothing).
func (s *Service) historyKeeps(ctx context.Context) map[string][]slipway.Version {
	names, err := s.store.ListApps(ctx)
	if err != nil {
		return nil
	}
	keep := make(map[string][]slipway.Version, len(names))
	for _, app := range names {
		rels, err := s.store.ListReleases(ctx, app)
		if err != nil {
			return nil
		}
		keep[app] = []slipway.Version{}
		for _, rel := range rels {
			if rel.Status == slipway.StatusLive || rel.Status == slipway.StatusDraining {
				keep[app] = append(keep[app], rel.Version)
			}
		}
	}
	return keep
}

// destroyer is a Runtime that keeps something of an app after Forget
// (which ps:stop uses too), to remove once the app is destroyed.
type destroyer interface{ Destroyed(app string) }
