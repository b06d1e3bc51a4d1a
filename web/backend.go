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
	// App returns what runs of the app and what was done to it
	// (ENOTFOUND for an unknown app).
	App(ctx context.Context, app string) (*AppDetail, error)
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

// AppDetail is what the app page shows of the running system beside the
// history.
type AppDetail struct {
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	GitRemote string   `json:"git_remote"`
	Domains   []string `json:"domains"`
	// Processes are the running instances, workers included: the live
	// release's, then the draining ones'.
	Processes []Process `json:"processes"`
	Draining  []Drain   `json:"draining"`
	// Scale is the instance count per process type as kept for releases.
	Scale map[string]int `json:"scale"`
	// Config is the stored config, keys only: the page never shows a
	// value. Pending marks a key whose stored value the live release does
	// not run with yet (config:set --no-restart or config:unset
	// --no-restart).
	Config      []ConfigKey `json:"config"`
	Maintenance bool        `json:"maintenance"`
	Stopped     bool        `json:"stopped"`
	CrashLoop   bool        `json:"crash_loop"`
	// Events are the app's newest changes that made no release.
	Events []slipway.Event `json:"events"`
	// Log is the last lines of the app's log, cleaned of anything that is
	// not printable text.
	Log string `json:"log"`
}

// Process is one running instance or worker.
type Process struct {
	ID       string          `json:"id"` // web.1
	Release  slipway.Version `json:"release"`
	Live     bool            `json:"live"`
	State    string          `json:"state"`
	LastExit string          `json:"last_exit,omitempty"`
	Since    time.Time       `json:"since"`
	Restarts int             `json:"restarts"`
	PID      int             `json:"pid"`
	Port     int             `json:"port,omitempty"`
}

// Drain is one draining pool.
type Drain struct {
	Release slipway.Version `json:"release"`
	Since   time.Time       `json:"since"`
	// Sessions counts the sessions pinned to it that the router has seen
	// since it drains; LastSeen is the last request of one.
	Sessions   int       `json:"sessions"`
	LastSeen   time.Time `json:"last_seen"`
	IdleRetire time.Time `json:"idle_retire"` // retired then if no session comes back
	RetireBy   time.Time `json:"retire_by"`   // retired then whatever they do
}

// ConfigKey is one config var, without its value.
type ConfigKey struct {
	Key     string `json:"key"`
	Pending bool   `json:"pending"`
	Removed bool   `json:"removed,omitempty"` // unset, the live release still has it
}
