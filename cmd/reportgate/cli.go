package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
