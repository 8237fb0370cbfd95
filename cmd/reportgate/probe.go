package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

const probeUsage = `Usage:
  reportgate probe [URL]

Exits 0 when the app's /readyz answers 200, for container health checks.
URL defaults to http://127.0.0.1:<port of REPORTGATE_ADDR>/readyz.
`

// probe asks a running reportgate whether it is ready, for container
// health checks: a FROM-scratch image has no curl or wget. The URL defaults
// to /readyz on the port of REPORTGATE_ADDR on loopback.
func probe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	if help, err := parseFlags(fs, probeUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	args = fs.Args()
	if len(args) > 1 {
		return fmt.Errorf("probe takes at most one argument: the URL to ask (default http://127.0.0.1:<port>/readyz)")
	}
	target := ""
	if len(args) == 1 {
		target = args[0]
	} else {
		addr := getenv("REPORTGATE_ADDR")
		if addr == "" {
			addr = ":8080"
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("REPORTGATE_ADDR %q: %w", addr, err)
		}
		target = "http://" + net.JoinHostPort("127.0.0.1", port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", target, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", target, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %s", target, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
