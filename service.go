package slipway

import (
	"context"
	"io"
	"time"
)

// AppService is every use case on apps that the transports call: the
// ssh commands and the local CLI (package commands) and the admin page
// and API (package web, which needs only its first six). Package apps
// implements it, and is the one writer of the history; the transports
// import this package and internal helpers, never apps or the parts
// below it.
type AppService interface {
	// Apps lists every app with its live release, sorted by name.
	Apps(ctx context.Context) ([]AppSummary, error)
	// Releases returns the app's history, newest first; an unknown app is
	// an error with code ENOTFOUND.
	Releases(ctx context.Context, app string) ([]*Release, error)
	// Release returns one release (ENOTFOUND if there is none).
	Release(ctx context.Context, app string, v Version) (*Release, error)
	// BuildLog returns the build and deploy output of a release.
	BuildLog(ctx context.Context, app string, v Version) ([]byte, error)
	// Rollback makes a new release that reuses release to's build and
	// config (to = 0: the release before the live one that was live) and
	// switches to it, writing progress to out. Refusals (pruned, failed,
	// already live) have code EINVALID or ECONFLICT.
	Rollback(ctx context.Context, app string, to Version, out io.Writer) (*Release, error)
	// App returns what runs of the app and what was done to it
	// (ENOTFOUND for an unknown app).
	App(ctx context.Context, app string) (*AppDetail, error)
	Config(ctx context.Context, app string) (map[string]string, error)
	SetConfig(ctx context.Context, app string, set map[string]string, unset []string, noRestart bool, out io.Writer) (*Release, error)
	Scale(ctx context.Context, app string, changes []ScaleChange, out io.Writer) error
	Restart(ctx context.Context, app string, out io.Writer) error
	Create(ctx context.Context, app string) error
	Destroy(ctx context.Context, app string, out io.Writer) error
	Processes(ctx context.Context, app string) ([]ProcessStatus, error)
	Draining(ctx context.Context, app string) ([]DrainStatus, error)
	CronList(ctx context.Context, app string) ([]CronEntry, error)
	Logs(ctx context.Context, app string, opt LogOptions, out io.Writer) error
	Isolation() string
	DiskUsage(app string) string
	Resources(ctx context.Context, app string) (map[string]Limits, error)
	SetResources(ctx context.Context, app, process string, set, unset []string, out io.Writer) error
	Domains(ctx context.Context, app string) ([]string, error)
	AddDomains(ctx context.Context, app string, domains []string, out io.Writer) error
	RemoveDomains(ctx context.Context, app string, domains []string, out io.Writer) error
	ClearDomains(ctx context.Context, app string, out io.Writer) error
	Certificates(ctx context.Context, app string) ([]CertStatus, error)
	AddCertificate(ctx context.Context, app string, bundle io.Reader, out io.Writer) error
	RemoveCertificate(ctx context.Context, app string, out io.Writer) error
	SetRedirect(ctx context.Context, app string, on bool, out io.Writer) error
	GitRemote(app string) string
	SetMaintenance(ctx context.Context, app string, on bool, out io.Writer) error
	RetireRelease(ctx context.Context, app string, v Version, out io.Writer) error
	SSHKeys(ctx context.Context) ([]KeyInfo, error)
	AddSSHKey(ctx context.Context, name string, key []byte, apps []string) (KeyInfo, error)
	RemoveSSHKey(ctx context.Context, name string) error
	Run(ctx context.Context, app string, argv []string, t Terminal) (int, error)
	RunDetached(ctx context.Context, app, command string) (string, error)
	Rename(ctx context.Context, old, new string, out io.Writer) error
	Stop(ctx context.Context, app string, out io.Writer) error
	StartStopped(ctx context.Context, app string, out io.Writer) error
	// SetAutosleep makes the app's web processes stop after after without
	// a request and start again on the next one (its workers too with
	// workers); after 0 turns it off. Kept across restarts.
	SetAutosleep(ctx context.Context, app string, after time.Duration, workers bool, out io.Writer) error
	// SetAccessLog turns the router's access lines in the app's log on
	// (the default) or off. Kept across restarts.
	SetAccessLog(ctx context.Context, app string, on bool, out io.Writer) error
}
