package version

import (
	"runtime/debug"
	"strings"
)

// Version is set by a release build:
//
//	go build -ldflags "-X github.com/slipway/slipway/internal/version.Version=v1.4.0" ./cmd/slipway
var Version = ""

// String is the version as `slipway version` prints it: "v1.4.0", or
// "dev (commit 0123456789ab, modified, 2026-12-01T10:00:00Z)", or "dev".
func String() string {
	info, _ := debug.ReadBuildInfo()
	return describe(Version, info)
}

// describe is String for a given link-time version and build info.
func describe(version string, info *debug.BuildInfo) string {
	var commit, when string
	modified := false
	if info != nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		// go install module@v1.4.0 records the version; a build in a
		// checkout records a pseudo-version (v0.0.0-TIME-COMMIT), which the
		// commit below says better.
		if v := info.Main.Version; version == "" && v != "" && v != "(devel)" && !strings.HasPrefix(v, "v0.0.0-") {
			version = v
		}
	}
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		return version
	}
	parts := []string{"commit " + commit[:min(len(commit), 12)]}
	if modified {
		parts = append(parts, "modified")
	}
	if when != "" {
		parts = append(parts, when)
	}
	return version + " (" + strings.Join(parts, ", ") + ")"
}
