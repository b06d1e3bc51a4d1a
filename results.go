package slipway

import "time"

// The results of the application's use cases, as the transports (the ssh
// commands, the admin page and API, the local CLI) show them. The parts
// that produce them (releaser, supervisor, certs, gitserver) name them by
// aliases.

// LogOptions selects what Logs prints.
type LogOptions struct {
	Lines   int    // the last Lines lines (default 100)
	Process string // only this process type ("web") or instance ("web.1")
	Follow  bool   // keep printing new lines until ctx is done
}

// DrainStatus is one draining pool, as ps shows it: since when it drains,
// when a session pinned to it was last seen, and when it is retired at the
// latest.
type DrainStatus struct {
	Release  Version   `json:"release"`
	Since    time.Time `json:"since"`
	LastSeen time.Time `json:"last_seen"`
	// IdleRetire is when it is retired if no session comes back (LastSeen
	// and the session TTL); RetireBy when it is retired whatever they do
	// (the drain timeout).
	IdleRetire time.Time `json:"idle_retire"`
	RetireBy   time.Time `json:"retire_by"`
	// Sessions counts the sessions pinned to it that the router has seen
	// since it drains (router.Pool.Sessions).
	Sessions int `json:"sessions"`
	// SleepingSince is since when it sleeps, its processes stopped until
	// a pinned request wakes it; zero while awake.
	SleepingSince time.Time `json:"sleeping_since"`
}

// CronEntry is one scheduled job, as cron:list shows it.
type CronEntry struct {
	ID       string    `json:"id"`
	Schedule string    `json:"schedule"`
	Command  string    `json:"command"`
	Next     time.Time `json:"next"`
}

// ProcessStatus is one running process, as `ps` shows it.
type ProcessStatus struct {
	ID       string    `json:"id"`
	Release  Version   `json:"release"`
	Live     bool      `json:"live"`
	PID      int       `json:"pid"`
	Port     int       `json:"port"`
	State    string    `json:"state"`
	LastExit string    `json:"last_exit,omitempty"` // how its last process ended
	Since    time.Time `json:"since"`
	Restarts int       `json:"restarts"`
	// Cgroup names its cgroup as the process layer made it
	// (supervisor.Running.Cgroup), "" when it has none: where the
	// admin page's charts read its memory and CPU.
	Cgroup string `json:"-"`
}

// KeyInfo is one authorized key as ssh-keys:list shows it.
type KeyInfo struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Fingerprint string   `json:"fingerprint"`
	Apps        []string `json:"apps,omitempty"` // nil: every app
}

// CertStatus is where a domain's certificate comes from and how it stands, as
// `certs NAME` shows it.
type CertStatus struct {
	Domain  string    `json:"domain"`
	Source  string    `json:"source"` // "manual", "auto" or "" for none
	Issuer  string    `json:"issuer,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
	// State is "valid", "renewing", "expired", "failed: REASON", or for a
	// domain without one what will happen.
	State string `json:"state"`
}

// ScaleChange is one TYPE=N of ps:scale.
type ScaleChange struct {
	Type  string
	Count int
}

// ReleaseJSON is a release as the JSON API and `releases --json` show it.
type ReleaseJSON struct {
	App             string    `json:"app"`
	Version         int       `json:"version"`
	Name            string    `json:"name"` // "v3"
	Kind            string    `json:"kind"`
	Status          string    `json:"status"`
	Live            bool      `json:"live"`
	Commit          string    `json:"commit"`
	Subject         string    `json:"subject"`
	Author          string    `json:"author"`
	Pusher          string    `json:"pusher"` // the key's comment, else its fingerprint
	PusherComment   string    `json:"pusher_comment"`
	PusherFP        string    `json:"pusher_fingerprint"`
	CreatedAt       time.Time `json:"created_at"`
	StartedAt       time.Time `json:"started_at,omitzero"`
	FinishedAt      time.Time `json:"finished_at,omitzero"`
	BuildDurationMS int64     `json:"build_duration_ms"`
	Failure         string    `json:"failure,omitempty"`
	Note            string    `json:"note,omitempty"`
	RollbackOf      *int      `json:"rollback_of"` // null unless a rollback
	Pruned          bool      `json:"pruned"`
}

// NewReleaseJSON converts a release for the JSON API.
func NewReleaseJSON(r *Release) ReleaseJSON {
	out := ReleaseJSON{
		App: r.App, Version: int(r.Version), Name: r.Version.String(), Kind: string(r.Kind),
		Status: string(r.Status), Live: r.Status == StatusLive,
		Commit: r.Commit, Subject: r.Subject, Author: r.Author,
		Pusher: r.PusherComment, PusherComment: r.PusherComment, PusherFP: r.PusherFingerprint,
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		BuildDurationMS: r.BuildDuration.Milliseconds(),
		Failure:         r.Failure,
		Note:            r.Note,
		Pruned:          r.Pruned,
	}
	if out.Pusher == "" {
		out.Pusher = r.PusherFingerprint
	}
	if r.RollbackOf > 0 {
		n := int(r.RollbackOf)
		out.RollbackOf = &n
	}
	return out
}

// AppSummary is one row of the apps page.
type AppSummary struct {
	Name       string    `json:"name"`
	Live       Version   `json:"live_version,omitempty"`
	Commit     string    `json:"commit,omitempty"`
	Instances  int       `json:"instances"`
	Draining   int       `json:"draining"`
	LastDeploy time.Time `json:"last_deploy,omitzero"`
	URL        string    `json:"url"`
	// Domains are the app's own names beside NAME.<domain>.
	Domains []string `json:"domains"`
	// Crashed counts the live release's processes that are not up;
	// CrashLoop is set while one keeps crashing.
	Crashed   int  `json:"crashed"`
	CrashLoop bool `json:"crash_loop"`
	// State is what the app is doing, in a word: running, crashed,
	// stopped (ps:stop), maintenance or undeployed (no live release).
	State string `json:"state"`
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
	Processes []AppProcess `json:"processes"`
	Draining  []AppDrain   `json:"draining"`
	// Scale is the instance count per process type as kept for releases.
	Scale map[string]int `json:"scale"`
	// Config is the stored config, keys only: the page never shows a
	// value. Pending marks a key whose stored value the live release does
	// not run with yet (config:set --no-restart or config:unset
	// --no-restart).
	Config []ConfigKey `json:"config"`
	// SleepingSince is since when the app sleeps (ps:autosleep): its web
	// processes stopped until the next request; Autosleep says after how
	// long without a request it does ("15m", "15m, workers too"; "" off).
	SleepingSince time.Time `json:"sleeping_since,omitzero"`
	Autosleep     string    `json:"autosleep,omitempty"`
	// Services are the backing services linked to the app.
	Services    []LinkedService `json:"services"`
	Maintenance bool            `json:"maintenance"`
	Stopped     bool            `json:"stopped"`
	CrashLoop   bool            `json:"crash_loop"`
	// Events are the app's newest changes that made no release.
	Events []Event `json:"events"`
	// Log is the last lines of the app's log, cleaned of anything that is
	// not printable text.
	Log string `json:"log"`
}

// LinkedService is a backing service an app is linked to: the var its
// link sets and the service's state.
type LinkedService struct {
	Name  string      `json:"name"`
	Kind  ServiceKind `json:"kind"`
	Var   string      `json:"var"`
	State string      `json:"state"`
}

// AppProcess is one running instance or worker.
type AppProcess struct {
	ID       string    `json:"id"` // web.1
	Release  Version   `json:"release"`
	Live     bool      `json:"live"`
	State    string    `json:"state"`
	LastExit string    `json:"last_exit,omitempty"`
	Since    time.Time `json:"since"`
	Restarts int       `json:"restarts"`
	PID      int       `json:"pid"`
	Port     int       `json:"port,omitempty"`
}

// AppDrain is one draining pool.
type AppDrain struct {
	Release Version   `json:"release"`
	Since   time.Time `json:"since"`
	// Sessions counts the sessions pinned to it that the router has seen
	// since it drains; LastSeen is the last request of one.
	Sessions   int       `json:"sessions"`
	LastSeen   time.Time `json:"last_seen"`
	IdleRetire time.Time `json:"idle_retire"` // retired then if no session comes back
	RetireBy   time.Time `json:"retire_by"`   // retired then whatever they do
	// SleepingSince is since when it sleeps (its processes stopped until
	// a pinned request wakes it); zero while awake.
	SleepingSince time.Time `json:"sleeping_since"`
}

// ConfigKey is one config var, without its value.
type ConfigKey struct {
	Key     string `json:"key"`
	Pending bool   `json:"pending"`
	Removed bool   `json:"removed,omitempty"` // unset, the live release still has it
}

// Process states, as `ps` shows them.
const (
	StateStarting = "starting"
	StateUp       = "up"
	StateCrashed  = "crashed" // exited; a restart is scheduled
	StateStopped  = "stopped"
	// StateSleeping is an app's that sleeps when idle (ps:autosleep):
	// its web processes stopped until the next request.
	StateSleeping = "sleeping"
)
