package slipway

import (
	"context"
	"time"
)

// Event kinds: what an operator did to an app that made no release.
const (
	EventScale       = "scale"       // ps:scale
	EventRestart     = "restart"     // ps:restart
	EventStop        = "stop"        // ps:stop
	EventStart       = "start"       // ps:start
	EventMaintenance = "maintenance" // maintenance:on/off
	EventDomains     = "domains"     // domains:add/remove/clear
	EventRetire      = "retire"      // releases:retire
	EventRun         = "run"         // run, run:detached
	EventConfig      = "config"      // config:set --no-restart: stored, not live
	EventResources   = "resources"   // resources:set/unset
	EventRename      = "rename"      // apps:rename
	EventCreate      = "create"      // apps:create
	EventAutosleep   = "autosleep"   // ps:autosleep
	EventBuilder     = "builder"     // builder:set
	EventDrains      = "drains"      // drains:add/remove
	EventBranch      = "branch"      // the branch moved to the live release's commit at a start, after a cut-off push
	EventAccessLog   = "access-log"  // logs:access
)

// Event is one entry of an app's activity that is not a release.
type Event struct {
	App    string    `json:"app"`
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	By     string    `json:"by"`     // the key, "admin", or "slipway on the host"
	Detail string    `json:"detail"` // what changed, in a few words; never a config value
}

// EventStore keeps the apps' activity. Implemented by package sqlite.
type EventStore interface {
	// AddEvent records e (e.At is set to now); ENOTFOUND for an unknown
	// app.
	AddEvent(ctx context.Context, e *Event) error
	// ListEvents returns the app's newest events, newest first, at most
	// limit of them.
	ListEvents(ctx context.Context, app string, limit int) ([]Event, error)
}
