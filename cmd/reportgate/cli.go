package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// parseFlags parses a command's arguments. -h and --help print the usage
// to stdout and report help, which the command answers by returning nil:
// asking for help is not a failure. A bad flag prints the usage to stderr
// and returns the error (main prints it once).
func parseFlags(fs *flag.FlagSet, usage string, args []string, stdout, stderr io.Writer) (help bool, err error) {
	// The flag package would print the error and the usage itself, to one
	// writer, before returning; both are printed here instead.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err = fs.Parse(args)
	if err == nil {
		return false, nil
	}
	w := stderr
	if errors.Is(err, flag.ErrHelp) {
		w, help, err = stdout, true, nil
	}
	fmt.Fprint(w, usage)
	if hasFlags(fs) {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return help, err
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// version is the release, stamped by `make build` with
// -ldflags "-X main.version=…". Only the linker sets it.
var version string

// versionString names the build: the stamped version, else the module
// version, and the VCS revision the go command recorded (+dirty when the
// tree had changes), with the commit time and the Go release.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = &debug.BuildInfo{}
	}
	return "reportgate " + describeBuild(version, info)
}

func describeBuild(stamped string, info *debug.BuildInfo) string {
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
