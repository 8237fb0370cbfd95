package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/demo"
	"reportgate/internal/demo/standins"
	"reportgate/internal/devstack"
	"reportgate/internal/reqid"
)

const devUsage = `Usage:
  reportgate dev [flags]

Runs the app offline with local Logto and Permit stand-ins and SQLite, the
demo accounts seeded, and (unless --seed-history=false) about 600 demo
sign-ups over 90 days so the report has a history. Secrets are generated once into <data>/dev-secrets.json;
settings from the environment and ./.env take precedence. Ctrl+C stops it.
`

func dev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "app listen address")
	sf := standins.AddFlags(fs, "directory for the SQLite database, stand-in state and generated secrets")
	seedHistoryFlag := fs.Bool("seed-history", true, fmt.Sprintf("seed about %d demo sign-ups over %d days (@%s, no password) so the report has a history", demo.HistoryPeople, demo.HistoryDays, demo.HistoryDomain))
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", "private Prometheus metrics listen address (\"\" turns it off; a port in use only warns)")
	if help, err := parseFlags(fs, devUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	secrets, err := devstack.LoadSecrets(*sf.DataDir)
	if err != nil {
		return err
	}
	appLn, appURL, err := devstack.ListenURL(*addr)
	if err != nil {
		return err
	}
	defer appLn.Close()
	sl, err := devstack.Listen(*sf.LogtoAddr, *sf.PermitAddr)
	if err != nil {
		return err
	}
	defer sl.Close()
	settings, err := config.LoadEnvironment(getenv, config.FromMap(secrets.Settings(*sf.DataDir, appURL, sl.LogtoURL, sl.PermitURL)))
	if err != nil {
		return err
	}
	logger := reqid.NewLogger(stderr, settings.LogLevel, false)
	if settings.MetricsAddr != "" && !flagSet(fs, "metrics-addr") {
		*metricsAddr = settings.MetricsAddr // the environment or .env, as for every other setting
	}
	metricsLn := listenOrWarn(*metricsAddr, logger)
	if metricsLn != nil {
		defer metricsLn.Close()
	}
	st, err := standins.Start(ctx, sf.Options(sl, settings, settings.BaseURL.String(),
		settings.BaseURL.JoinPath("webhooks/logto").String()), logger)
	if err != nil {
		return err
	}
	a, err := startApp(ctx, settings, logger, appLn, metricsLn)
	if err != nil {
		st.Shutdown()
		return err
	}
	// stop stops the app, then the stand-ins. No load balancer in front
	// of dev: no delay before closing.
	stop := func() error {
		err := a.shutdown(0, settings.ShutdownTimeout)
		if stErr := st.Shutdown(); err == nil {
			err = stErr
		}
		return err
	}
	if err := st.MarkSynced(ctx, a.people); err != nil {
		stop()
		return err
	}
	if *seedHistoryFlag {
		start := time.Now()
		n, err := st.SeedHistory(ctx, a.people, start)
		if err != nil {
			stop()
			return err
		}
		logger.Info("seeded the demo history", "new_people", n, "took", time.Since(start).Round(time.Millisecond))
	}
	standins.PrintBanner(stdout, settings, sl, metricsLn, *seedHistoryFlag)
	select {
	case <-ctx.Done():
	case err := <-a.Done:
		a.Done <- err
	}
	return stop()
}

// listenOrWarn opens the dev metrics listener. Metrics are a convenience in
// dev, so a port already in use (a second dev, another exporter) is a
// warning and dev runs without them; "" turns them off.
func listenOrWarn(addr string, logger *slog.Logger) net.Listener {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Warn("metrics listener not started; dev runs without it", "addr", addr, "err", err)
		return nil
	}
	return ln
}

// flagSet reports whether name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
