package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"},
		{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	for _, tc := range []struct {
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"", vcs, "devel (0123456789ab+dirty, 2026-11-30T10:00:00Z, go1.26.8)"},
		{"v1.4.0", vcs, "v1.4.0 (0123456789ab+dirty, 2026-11-30T10:00:00Z, go1.26.8)"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3 (go1.26.8)"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"devel (go1.26.8, no version recorded: `make build` stamps one)"},
	} {
		if got := Describe(tc.stamped, tc.info); got != tc.want {
			t.Errorf("Describe(%q, …) = %q, want %q", tc.stamped, got, tc.want)
		}
	}
}
