package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"reportgate/internal/probe"
)

const probeUsage = `Usage:
  reportgate probe [URL]

Exits 0 when the app's /readyz answers 200, for container health checks.
URL defaults to http://127.0.0.1:<port of REPORTGATE_ADDR>/readyz.
`

// probeCmd asks a running reportgate whether it is ready.
func probeCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	if help, err := parseFlags(fs, probeUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	args = fs.Args()
	if len(args) > 1 {
		return fmt.Errorf("probe takes at most one argument: the URL to ask (default http://127.0.0.1:<port>/readyz)")
	}
	var target string
	if len(args) == 1 {
		target = args[0]
	} else {
		var err error
		if target, err = probe.DefaultURL(getenv("REPORTGATE_ADDR")); err != nil {
			return err
		}
	}
	if err := probe.Ready(ctx, target); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
