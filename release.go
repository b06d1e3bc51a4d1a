package slipway

import (
	"context"
	"time"
)

// ReleaseKind says what made a release.
type ReleaseKind string

// Release kinds.
const (
	KindPush     ReleaseKind = "push"     // a git push
	KindRollback ReleaseKind = "rollback" // a rollback to an earlier release's build and config
	KindConfig   ReleaseKind = "config"   // a config change: same build, new config
)

// ReleaseStatus is where a release stands.
type ReleaseStatus string

// Release statuses, in the order a release goes through them.
const (
	StatusBuilding ReleaseStatus = "building" // being built, started and health checked
	StatusFailed   ReleaseStatus = "failed"   // the build, the release phase or the health check failed
	StatusLive     ReleaseStatus = "live"     // serving new sessions
	StatusDraining ReleaseStatus = "draining" // replaced, still serving the sessions pinned to it
	StatusRetired  ReleaseStatus = "retired"  // stopped
)

// Release is one entry of an app's history. Releases are never deleted;
// a pruned release keeps its row and loses its directory.
type Release struct {
	App     string        `json:"app"`
	Version Version       `json:"version"`
	Kind    ReleaseKind   `json:"kind"`
	Status  ReleaseStatus `json:"status"`

	Commit  string `json:"commit"`
	Subject string `json:"subject"`
	Author  string `json:"author"`
	// Pusher is who made the release: the ssh key's fingerprint and comment
	// for a push, "admin" or a key for a rollback or config change.
	PusherFingerprint string `json:"pusher_fingerprint,omitempty"`
	PusherComment     string `json:"pusher_comment,omitempty"`

	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitzero"`  // when it went live
	FinishedAt time.Time `json:"finished_at,omitzero"` // when it failed or retired
	// SleepingSince is since when a draining release's pool sleeps: its
	// processes stopped until a request pinned to it wakes it.
	SleepingSince time.Time     `json:"sleeping_since,omitzero"`
	BuildDuration time.Duration `json:"build_duration_ns,omitempty"`
	Failure       string        `json:"failure,omitempty"`
	// Note says what the other fields cannot, in a line: that the push's
	// connection was cut after it went live, say.
	Note string `json:"note,omitempty"`

	// RollbackOf is the release a rollback reuses (its build and config).
	RollbackOf Version `json:"rollback_of,omitempty"`
	// Config is the config snapshot the release runs with.
	Config map[string]string `json:"-"`
	// Dir is the immutable release directory; Pruned once it is removed.
	Dir    string `json:"-"`
	Pruned bool   `json:"pruned"`
	// LogPath is the file holding the release's build and deploy output.
	LogPath string `json:"-"`
	// Spec is the releaser's description of how to run the release (its
	// process types, health checks, static root), opaque to the store.
	Spec []byte `json:"-"`
}

// ReleaseStore keeps every app's release history. Implemented by package
// sqlite.
type ReleaseStore interface {
	// CreateRelease records r as the app's next release, creating the app
	// on its first release, and sets r.Version and r.CreatedAt. Versions
	// are per app, start at 1 and are never reused.
	CreateRelease(ctx context.Context, r *Release) error
	// UpdateRelease applies u to release v of app in one transaction and
	// returns the release as it now is; ENOTFOUND if there is none.
	UpdateRelease(ctx context.Context, app string, v Version, u ReleaseUpdate) (*Release, error)
	// SetLive makes release v the app's one live release, recording when
	// and what it runs from; the release live until then becomes draining.
	SetLive(ctx context.Context, app string, v Version, spec []byte, dir string) error
	// FindRelease returns one release, or an error with code ENOTFOUND.
	FindRelease(ctx context.Context, app string, v Version) (*Release, error)
	// ListReleases returns the app's releases, newest first, or ENOTFOUND
	// for an unknown app.
	ListReleases(ctx context.Context, app string) ([]*Release, error)
	// ListApps returns every app's name, sorted.
	ListApps(ctx context.Context) ([]string, error)
	// SetInstances replaces the recorded instances of the app's release v
	// (nil when its pool stops), so the history shows the running state
	// after a restart.
	SetInstances(ctx context.Context, app string, v Version, ins []InstanceRecord) error
	// ListInstances returns the recorded instances of the app, newest
	// release first.
	ListInstances(ctx context.Context, app string) ([]InstanceRecord, error)
	// CreateApp records an app with no release yet; ECONFLICT if it exists.
	CreateApp(ctx context.Context, app string) error
	// RenameApp gives app old the name new with all its history, applying
	// moved to each release in the same transaction; ECONFLICT when new
	// exists.
	RenameApp(ctx context.Context, old, new string, moved func(*Release) ReleaseUpdate) error
	// DeleteApp removes the app, its releases and instances from the history.
	DeleteApp(ctx context.Context, app string) error
}

// ReleaseUpdate is a change of a release's mutable fields: each non-nil
// field is set, every other one is left as it is, so that two writers
// changing different fields never undo each other.
type ReleaseUpdate struct {
	Status        *ReleaseStatus
	StartedAt     *time.Time
	FinishedAt    *time.Time
	BuildDuration *time.Duration
	Failure       *string
	Note          *string
	Config        *map[string]string
	Dir           *string
	Pruned        *bool
	LogPath       *string
	Spec          *[]byte
	// SleepingSince is set when a draining release's pool sleeps, and set
	// to the zero time when it wakes.
	SleepingSince *time.Time
}

// NoteConnectionCut is the note of a release whose push went live but
// whose connection was cut before git moved the branch: the pusher saw a
// failure, and the branch was moved to it at the next start.
const NoteConnectionCut = "push connection cut; branch moved at restart"

// Failed returns the update that marks a release failed now with reason.
func Failed(now time.Time, reason string) ReleaseUpdate {
	status := StatusFailed
	return ReleaseUpdate{Status: &status, FinishedAt: &now, Failure: &reason}
}

// Retired returns the update that marks a release retired now.
func Retired(now time.Time) ReleaseUpdate {
	status := StatusRetired
	return ReleaseUpdate{Status: &status, FinishedAt: &now}
}

// Set returns a pointer to v, for ReleaseUpdate fields.
func Set[T any](v T) *T { return &v }

// InstanceRecord is one running process as the history keeps it.
type InstanceRecord struct {
	Release   Version   `json:"release"`
	ID        string    `json:"id"` // web.1
	PID       int       `json:"pid"`
	Port      int       `json:"port"`
	State     string    `json:"state"`
	StartedAt time.Time `json:"started_at"`
	// StartTicks is the kernel's start time of the process (see
	// supervisor.StartTicks): with PID, it names the process and never a
	// later one that got the same pid.
	StartTicks uint64 `json:"start_ticks,omitempty"`
	// Cgroup, TmpDir and LogOffset are what a later slipway needs to take
	// the process back (supervisor.Running); LogOffset is -1 when it was
	// recorded while the copy of the output went on.
	Cgroup    string `json:"-"`
	TmpDir    string `json:"-"`
	LogOffset int64  `json:"-"`
}
