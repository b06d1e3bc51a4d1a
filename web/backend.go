package web

import (
	"context"
	"io"
	"time"

	"github.com/slipway/slipway"
)

// Backend is what the admin pages and API read and do. The wiring in
// cmd/slipway implements it with the release store and the releaser.
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
	Rollback(ctx context.Context, app string, to slipway.Version, by string, out io.Writer) (*slipway.Release, error)
}

// AppSummary is one row of the apps page.
type AppSummary struct {
	Name       string          `json:"name"`
	Live       slipway.Version `json:"live_version,omitempty"`
	Commit     string          `json:"commit,omitempty"`
	Instances  int             `json:"instances"`
	Draining   int             `json:"draining"`
	LastDeploy time.Time       `json:"last_deploy,omitzero"`
	URL        string          `json:"url"`
	// Domains are the app's own names beside NAME.<domain>.
	Domains []string `json:"domains"`
	// Crashed counts the live release's processes that are not up;
	// CrashLoop is set while one keeps crashing.
	Crashed   int  `json:"crashed"`
	CrashLoop bool `json:"crash_loop"`
}
