// Package buildinfo names a build of reportgate from what the linker
// stamped and what the go command recorded.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Describe names the build: stamped (the release `make build` sets), else
// the module version, and the VCS revision the go command recorded (+dirty
// when the tree had changes), with the commit time and the Go release.
func Describe(stamped string, info *debug.BuildInfo) string {
	v := stamped
	if v == "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	var revision, modified, at string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		case "vcs.time":
			at = s.Value
		}
	}
	var details []string
	if revision != "" {
		if len(revision) > 12 {
			revision = revision[:12]
		}
		if modified == "true" {
			revision += "+dirty"
		}
		details = append(details, revision)
	}
	if at != "" {
		details = append(details, at)
	}
	if info.GoVersion != "" {
		details = append(details, info.GoVersion)
	}
	if v == "" {
		// go run and go test record no VCS information.
		v = "devel"
		if revision == "" {
			details = append(details, "no version recorded: `make build` stamps one")
		}
	}
	if len(details) == 0 {
		return v
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}

// Version describes the running binary (Describe with its own build
// information); stamped is what the linker set, if anything.
func Version(stamped string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = &debug.BuildInfo{}
	}
	return Describe(stamped, info)
}
