package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"

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
	sf := addStandinFlags(fs, "directory for stand-in state and generated secrets")
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
	secrets, err := devstack.LoadSecrets(*sf.dataDir)
	if err != nil {
		return err
	}
	sl, err := devstack.Listen(*sf.logtoAddr, *sf.permitAddr)
	if err != nil {
		return err
	}
	defer sl.Close()
	env := secrets.Settings(*sf.dataDir, appURL, sl.LogtoURL, sl.PermitURL)
	settings, err := config.Load(config.Layered(config.FromGetenv(getenv), config.FromMap(env)))
	if err != nil {
		return err
	}
	logger := reqid.NewLogger(stderr, settings.LogLevel, false)
	st, err := standins.Start(ctx, sf.options(sl, settings, appURL, *webhookURL), logger)
	if err != nil {
		return err
	}
	standins.PrintServeSettings(stdout, settings, sl)
	<-ctx.Done()
	return st.Shutdown()
}

// standinFlags are the flags dev and devstack share: where the stand-ins
// listen and keep their state, and how they behave.
type standinFlags struct {
	logtoAddr, permitAddr, dataDir *string
	permitDelay                    *time.Duration
	webhookRetries                 *bool
}

// addStandinFlags defines the shared flags on fs; dataUsage says what the
// data directory holds for the command.
func addStandinFlags(fs *flag.FlagSet, dataUsage string) standinFlags {
	return standinFlags{
		logtoAddr:      fs.String("logto-addr", "127.0.0.1:3001", "Logto stand-in listen address"),
		permitAddr:     fs.String("permit-addr", "127.0.0.1:7766", "Permit stand-in listen address"),
		dataDir:        fs.String("data", "./data", dataUsage),
		permitDelay:    fs.Duration("permit-propagation-delay", 0, "delay before the Permit stand-in's PDP sees an API write (real Permit is eventually consistent)"),
		webhookRetries: fs.Bool("webhook-retries", false, "make the Logto stand-in retry webhooks 3 times on 5xx (newer Logto) instead of sending once"),
	}
}

// options are the stand-ins' options for an app at appURL that receives
// webhooks at webhookURL.
func (f standinFlags) options(sl *devstack.Listeners, s config.Settings, appURL, webhookURL string) standins.Options {
	return standins.Options{DataDir: *f.dataDir, Listeners: sl, PermitDelay: *f.permitDelay,
		AppBaseURLs: []string{appURL}, WebhookURL: webhookURL, WebhookRetries: *f.webhookRetries, Settings: s}
}
