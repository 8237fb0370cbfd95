package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"reportgate/internal/loadtest"
)

const loadtestUsage = `Usage:
  reportgate loadtest webhooks --url http://127.0.0.1:8080 --key KEY [--senders 16] [--count 5000]
                              [--metrics http://127.0.0.1:9464/metrics [--idle 10s]]
      signed Logto deliveries (User.Created and PostRegister of fresh users) to <url>/webhooks/logto;
      with --metrics, then the time until they are synced and the instance's RSS then and after --idle
  reportgate loadtest http --url http://127.0.0.1:8080/reports [--conns 32] [--duration 5s] [--cookie NAME=VALUE]
                           [--baseline http://127.0.0.1:8080/healthz]
      GET one URL as fast as the connections allow; with --baseline, that URL first and the ratio
Both print req/s, p50, p99 and the status counts, and refuse a target that is
not loopback unless --allow-remote is given.
`

// loadtestCmd drives a running instance: it measures, it does not check.
func loadtestCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, loadtestUsage)
		return errors.New("loadtest: say webhooks or http")
	}
	switch args[0] {
	case "webhooks":
		var c loadtest.Webhooks
		fs := flag.NewFlagSet("loadtest webhooks", flag.ContinueOnError)
		fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "base URL of the running app")
		fs.StringVar(&c.Key, "key", getenv("LOGTO_WEBHOOK_SIGNING_KEY"), "webhook signing key (default $LOGTO_WEBHOOK_SIGNING_KEY)")
		fs.IntVar(&c.Senders, "senders", 16, "concurrent senders")
		fs.IntVar(&c.Count, "count", 5000, "deliveries to send (two per new user)")
		fs.DurationVar(&c.Timeout, "timeout", 2*time.Minute, "give up after this long")
		fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a target that is not loopback")
		fs.StringVar(&c.Metrics, "metrics", "", "the instance's metrics URL: then wait for the sync and print it and the RSS")
		fs.DurationVar(&c.Idle, "idle", 10*time.Second, "with --metrics, how long to watch the RSS of the idle instance")
		if help, err := parseFlags(fs, loadtestUsage, args[1:], stdout, stderr); help || err != nil {
			return err
		}
		return c.Run(ctx, stdout)
	case "http":
		var c loadtest.HTTP
		fs := flag.NewFlagSet("loadtest http", flag.ContinueOnError)
		fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080/healthz", "URL to GET")
		fs.IntVar(&c.Conns, "conns", 32, "concurrent connections")
		fs.DurationVar(&c.Duration, "duration", 5*time.Second, "how long to send")
		fs.StringVar(&c.Cookie, "cookie", "", "a Cookie header to send, e.g. the session cookie of a signed-in browser")
		fs.StringVar(&c.Baseline, "baseline", "", "a URL to GET first the same way (no cookie), and print the rate ratio against")
		fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a target that is not loopback")
		if help, err := parseFlags(fs, loadtestUsage, args[1:], stdout, stderr); help || err != nil {
			return err
		}
		return c.Run(ctx, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, loadtestUsage)
		return nil
	}
	fmt.Fprint(stderr, loadtestUsage)
	return fmt.Errorf("loadtest: unknown target %q", args[0])
}
