package version

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	for _, tc := range []struct {
		version string
		info    *debug.BuildInfo
		want    string
	}{
		{"v1.4.0", nil, "v1.4.0"},
		{"", vcs, "dev (commit 0123456789ab, modified, 2026-12-01T10:00:00Z)"},
		{"v1.4.0", vcs, "v1.4.0 (commit 0123456789ab, modified, 2026-12-01T10:00:00Z)"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.2"}}, "v1.3.2"},
		{"", nil, "dev"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201121948-2c5c5cf3cd78+dirty"}}, "dev"},
	} {
		if got := describe(tc.version, tc.info); got != tc.want {
			t.Errorf("describe(%q, …) = %q, want %q", tc.version, got, tc.want)
		}
	}
}
