package slipway

import (
	"context"
	"regexp"
	"sort"
	"strings"
)

// ConfigKeyPattern is the form of a config var's name.
const ConfigKeyPattern = `^[A-Z_][A-Z0-9_]*$`

var configKeyRE = regexp.MustCompile(ConfigKeyPattern)

// maxConfigValue bounds one config value; a config is environment, not a
// file store.
const maxConfigValue = 32 << 10

// ValidateConfigKey returns an EINVALID error when key is not a config var
// name a user may set. PORT, DYNO and SLIPWAY_* are set by slipway itself.
func ValidateConfigKey(key string) error {
	switch {
	case len(key) > 256 || !configKeyRE.MatchString(key):
		return Errorf(EINVALID, "config key %q: use upper-case letters, digits and _, not starting with a digit", key)
	case key == "PORT" || key == "DYNO" || strings.HasPrefix(key, "SLIPWAY_"):
		return Errorf(EINVALID, "config key %q is set by slipway for every process and cannot be changed", key)
	}
	return nil
}

// ValidateConfigValue returns an EINVALID error for a value that cannot go
// into a process environment.
func ValidateConfigValue(key, value string) error {
	switch {
	case strings.ContainsRune(value, 0):
		return Errorf(EINVALID, "config value of %s contains a NUL byte, which no environment variable can hold", key)
	case len(value) > maxConfigValue:
		return Errorf(EINVALID, "config value of %s is longer than %d KiB", key, maxConfigValue>>10)
	}
	return nil
}

// ConfigStore keeps each app's config vars: what its next release runs
// with. Every release also keeps its own snapshot (Release.Config).
type ConfigStore interface {
	// AppConfig returns the app's config; ENOTFOUND for an unknown app.
	AppConfig(ctx context.Context, app string) (map[string]string, error)
	// SetAppConfig sets and unsets keys of the app's config in one step
	// and returns the result.
	SetAppConfig(ctx context.Context, app string, set map[string]string, unset []string) (map[string]string, error)
}

// ScaleStore keeps each app's instance counts set with ps:scale.
type ScaleStore interface {
	// AppScale returns the counts by process type; ENOTFOUND for an
	// unknown app.
	AppScale(ctx context.Context, app string) (map[string]int, error)
	// SetAppScale records the counts in scale.
	SetAppScale(ctx context.Context, app string, scale map[string]int) error
}

// IdentityStore keeps each app's own uid (slipway as root runs each app as
// its own unprivileged user).
type IdentityStore interface {
	// AppUID returns the app's uid, allocating the next unused one of
	// uids on first use; ENOTFOUND for an unknown app, EINVALID when the
	// range is used up.
	AppUID(ctx context.Context, app string, uids UIDRange) (int, error)
	// UIDSpan returns the lowest and highest uid ever given out; ok false
	// when none was.
	UIDSpan(ctx context.Context) (lo, hi int, ok bool, err error)
}

// UIDRange is the uids a data dir may give its apps: Count of them from
// Base, each never given twice, skipping those Free refuses (another
// user or process of the host has them).
type UIDRange struct {
	Base, Count int
	// Free reports whether uid belongs to nobody on the host. Nil: every
	// uid of the range is free.
	Free func(uid int) bool
}

// Last returns the range's last uid.
func (r UIDRange) Last() int { return r.Base + r.Count - 1 }

// Overlaps reports whether r and o share a uid.
func (r UIDRange) Overlaps(o UIDRange) bool { return r.Base <= o.Last() && o.Base <= r.Last() }

// EnvList returns config as KEY=VALUE entries sorted by key, as a process
// environment holds them.
func EnvList(config map[string]string) []string {
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+config[k])
	}
	return out
}
