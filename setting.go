package slipway

import "context"

// App settings that are neither config vars nor part of a release.
const (
	// SettingRedirect is "off" when plain HTTP is not redirected to HTTPS
	// for the app (certs:redirect NAME off).
	SettingRedirect = "redirect"
	// SettingCreated is "apps:create" for an app made before its first
	// push, which a failed first push does not remove.
	SettingCreated = "created"
	// SettingMaintenance is "on" while the app is in maintenance
	// (maintenance:on NAME).
	SettingMaintenance = "maintenance"
	// SettingStopped is "on" while the app is stopped (ps:stop NAME).
	SettingStopped = "stopped"
	// SettingConfigChange holds a config change on its way to going live
	// (JSON: the keys' values before and after it), from before the
	// config is stored until its release went live or failed: after a
	// crash in between, the change is undone unless the live release
	// carries it.
	SettingConfigChange = "config-change"
	// SettingBranchUpdate holds the branch move of the last deployed
	// push (JSON: ref, old and new commit), which git makes only once the
	// pre-receive hook has answered: if slipway was cut off in between,
	// the next start moves the branch to the live release's commit.
	SettingBranchUpdate = "branch-update"
	// SettingAutosleep is set while the app sleeps when idle (ps:autosleep
	// NAME on): how long without a request ("15m"), with " workers" when
	// its workers sleep too.
	SettingAutosleep = "autosleep"
	// SettingBuilder is how the app's pushes are built when not detected:
	// "dockerfile" or "host" (builder:set NAME dockerfile|host|auto).
	SettingBuilder = "builder"
	// SettingDrains is the app's log drains (drains:add NAME URL): a JSON
	// array of their URLs, secrets included, in the order added.
	SettingDrains = "drains"
	// SettingAccessLog is "off" when the router writes no access lines to
	// the app's log (logs:access NAME off); on by default.
	SettingAccessLog = "access-log"
)

// SettingStore keeps the apps' settings. Implemented by package sqlite.
type SettingStore interface {
	// AppSetting returns the app's value of key, "" when unset;
	// ENOTFOUND for an unknown app.
	AppSetting(ctx context.Context, app, key string) (string, error)
	// SetAppSetting sets the app's value of key; "" unsets it.
	SetAppSetting(ctx context.Context, app, key, value string) error
	// AllAppSettings returns every app's value of key, by app.
	AllAppSettings(ctx context.Context, key string) (map[string]string, error)
}
