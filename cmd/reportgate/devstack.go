package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"

	"reportgate/internal/config"
	"reportgate/internal/demo/standins"
	"reportgate/internal/devstack"
	"reportgate/internal/reqid"
)

const devstackUsage = `Usage:
  reportgate devstack [flags]

Runs only the local Logto and Permit stand-ins and prints the settings a
separately started ` + "`reportgate serve`" + ` needs. Ctrl+C stops them.
`

// devstackCmd runs only the stand-ins, for a `reportgate serve` (or a
// debugger) started separately, and prints the settings that serve needs.
func devstackCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	sf := standins.AddFlags(fs, "directory for stand-in state and generated secrets")
	webhookURL := fs.String("webhook-url", "http://127.0.0.1:8080/webhooks/logto", "where the Logto stand-in sends webhooks; its origin is also the app's base URL for redirects")
	if help, err := parseFlags(fs, devstackUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	if getenv("GOMEMLIMIT") == "" { // when set, it wins
		debug.SetMemoryLimit(devstack.MemoryLimit)
	}
	hook, err := config.ParseHTTPURL(*webhookURL)
	if err != nil {
		return fmt.Errorf("--webhook-url must be an absolute http(s) URL, not %q", *webhookURL)
	}
	appURL := hook.Scheme + "://" + hook.Host
	secrets, err := devstack.LoadSecrets(*sf.DataDir)
	if err != nil {
		return err
	}
	sl, err := devstack.Listen(*sf.LogtoAddr, *sf.PermitAddr)
	if err != nil {
		return err
	}
	defer sl.Close()
	env := secrets.Settings(*sf.DataDir, appURL, sl.LogtoURL, sl.PermitURL)
	settings, err := config.Load(config.Layered(config.FromGetenv(getenv), config.FromMap(env)))
	if err != nil {
		return err
	}
	logger := reqid.NewLogger(stderr, settings.LogLevel, false)
	st, err := standins.Start(ctx, sf.Options(sl, settings, appURL, *webhookURL), logger)
	if err != nil {
		return err
	}
	standins.PrintServeSettings(stdout, settings, sl)
	<-ctx.Done()
	return st.Shutdown()
}
