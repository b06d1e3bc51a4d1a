package web

import (
	"context"
	"io"

	"github.com/slipway/slipway"
)

// Backend is what the admin pages and API read and do: the first six
// methods of the domain's slipway.AppService and Services of its
// slipway.BackingServices, which package apps implements (cmd/slipway
// hands it to the Handler).
type Backend interface {
	// Apps lists every app with its live release, sorted by name.
	Apps(ctx context.Context) ([]AppSummary, error)
	// Releases returns the app's history, newest first; an unknown app is
	// an error with code slipway.ENOTFOUND.
	Releases(ctx context.Context, app string) ([]*slipway.Release, error)
	// Release returns one release (ENOTFOUND if there is none).
	Release(ctx context.Context, app string, v slipway.Version) (*slipway.Release, error)
	// BuildLog returns the build and deploy output of a release.
	BuildLog(ctx context.Context, app string, v slipway.Version) ([]byte, error)
	// Rollback makes a new release that reuses release to's build and
	// config (to = 0: the release before the live one that was live) and
	// switches to it, writing progress to out. Refusals (pruned, failed,
	// already live) have code EINVALID or ECONFLICT.
	Rollback(ctx context.Context, app string, to slipway.Version, out io.Writer) (*slipway.Release, error)
	// App returns what runs of the app and what was done to it
	// (ENOTFOUND for an unknown app).
	App(ctx context.Context, app string) (*AppDetail, error)
	// Services lists the backing services of one kind, sorted by name,
	// each URL masked.
	Services(ctx context.Context, kind slipway.ServiceKind) ([]slipway.ServiceStatus, error)
}

// AppSummary is the domain's slipway.AppSummary.
type AppSummary = slipway.AppSummary

// AppDetail is the domain's slipway.AppDetail.
type AppDetail = slipway.AppDetail

// Process is the domain's slipway.AppProcess.
type Process = slipway.AppProcess

// Drain is the domain's slipway.AppDrain.
type Drain = slipway.AppDrain

// ConfigKey is the domain's slipway.ConfigKey.
type ConfigKey = slipway.ConfigKey
