package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/devstack"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/policy"
)

// The demo accounts, seeded in the Logto stand-in by devstack.Start and
// given their Permit roles by seedDemoRoles.
const demoPassword = devstack.DemoPassword

type demoAccount = devstack.Account

var demoAccounts = devstack.DemoAccounts()

// standins are the running stand-ins, as the demo seeding uses them.
type standins struct {
	stack  *devstack.Stack
	logto  *logto.Server
	permit *permit.Server
}

type standinOptions struct {
	dataDir        string
	listeners      *devstack.Listeners
	permitDelay    time.Duration
	appBaseURLs    []string
	webhookURL     string
	webhookRetries bool
	settings       config.Settings
}

// startStandins serves the Logto and Permit stand-ins, brings the Permit
// stand-in's schema up to the policy and gives the demo accounts their
// Permit users and roles.
func startStandins(ctx context.Context, opts standinOptions, logger *slog.Logger) (*standins, error) {
	s := opts.settings
	pol, err := policy.Default()
	if err != nil {
		return nil, err
	}
	stack, err := devstack.Start(opts.listeners, devstack.Config{
		DataDir:           opts.dataDir,
		AppID:             s.Logto.AppID,
		AppSecret:         s.Logto.AppSecret,
		M2MAppID:          s.Logto.M2MAppID,
		M2MAppSecret:      s.Logto.M2MAppSecret,
		AppBaseURLs:       opts.appBaseURLs,
		WebhookURL:        opts.webhookURL,
		WebhookSigningKey: s.Logto.WebhookSigningKey,
		WebhookRetries:    opts.webhookRetries,
		Permit:            permit.Config{APIKey: s.Permit.APIKey, Schema: permitSchema(pol), PropagationDelay: opts.permitDelay},
		Logger:            logger,
	})
	if err != nil {
		return nil, err
	}
	st := &standins{stack: stack, logto: stack.Logto, permit: stack.Permit}
	if err := applyDevPolicy(ctx, s.Permit.APIKey, opts.listeners.PermitURL, pol); err != nil {
		st.shutdown()
		return nil, err
	}
	if err := seedDemoRoles(ctx, st, s); err != nil {
		st.shutdown()
		return nil, err
	}
	return st, nil
}

func (st *standins) shutdown() error { return st.stack.Shutdown() }

// permitSchema is pol in the Permit stand-in's own types, which it has
// because the stand-ins import nothing of the product. The element types
// have the same fields, so a field added to one side and not the other
// stops this from compiling.
func permitSchema(pol policy.Policy) permit.Schema {
	var sc permit.Schema
	for _, r := range pol.Resources {
		sc.Resources = append(sc.Resources, permit.Resource(r))
	}
	for _, r := range pol.Roles {
		sc.Roles = append(sc.Roles, permit.Role(r))
	}
	return sc
}

// applyDevPolicy brings the Permit stand-in's schema up to pol, as
// `policy apply` would. A data directory from before a policy change keeps
// its old schema (the stand-in, like Permit, lets persisted state win), so
// a permission added since (audit:view) would otherwise be missing. An
// up-to-date schema costs only reads.
func applyDevPolicy(ctx context.Context, apiKey, permitURL string, pol policy.Policy) error {
	client, err := policy.Remote{APIKey: apiKey, APIURL: permitURL}.Client()
	if err == nil {
		_, err = policy.Apply(ctx, client, pol, false, false, io.Discard)
	}
	if err != nil {
		return fmt.Errorf("apply the policy to the Permit stand-in: %w", err)
	}
	return nil
}

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
	logtoAddr := fs.String("logto-addr", "127.0.0.1:3001", "Logto stand-in listen address")
	permitAddr := fs.String("permit-addr", "127.0.0.1:7766", "Permit stand-in listen address")
	dataDir := fs.String("data", "./data", "directory for the SQLite database, stand-in state and generated secrets")
	webhookRetries := fs.Bool("webhook-retries", false, "make the Logto stand-in retry webhooks 3 times on 5xx (newer Logto) instead of sending once")
	permitDelay := fs.Duration("permit-propagation-delay", 0, "delay before the Permit stand-in's PDP sees an API write (real Permit is eventually consistent)")
	seedHistoryFlag := fs.Bool("seed-history", true, fmt.Sprintf("seed about %d demo sign-ups over %d days (@%s, no password) so the report has a history", historyPeople, historyDays, historyDomain))
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", "private Prometheus metrics listen address (\"\" turns it off; a port in use only warns)")
	if help, err := parseFlags(fs, devUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	secrets, err := devstack.LoadSecrets(*dataDir)
	if err != nil {
		return err
	}
	appLn, appURL, err := devstack.ListenURL(*addr)
	if err != nil {
		return err
	}
	defer appLn.Close()
	sl, err := devstack.Listen(*logtoAddr, *permitAddr)
	if err != nil {
		return err
	}
	defer sl.Close()
	logtoURL, permitURL := sl.LogtoURL, sl.PermitURL

	dotenv, err := loadDotEnv()
	if err != nil {
		return fmt.Errorf("read .env: %w", err)
	}
	settings, err := config.Load(config.Layered(
		config.FromGetenv(getenv), config.FromMap(dotenv), config.FromMap(secrets.Settings(*dataDir, appURL, logtoURL, permitURL))))
	if err != nil {
		return err
	}
	logger := newLogger(stderr, settings.LogLevel, false)
	if settings.MetricsAddr != "" && !flagSet(fs, "metrics-addr") {
		*metricsAddr = settings.MetricsAddr // the environment or .env, as for every other setting
	}
	metricsLn := listenOrWarn(*metricsAddr, logger)
	if metricsLn != nil {
		defer metricsLn.Close()
	}
	st, err := startStandins(ctx, standinOptions{
		dataDir:        *dataDir,
		listeners:      sl,
		permitDelay:    *permitDelay,
		appBaseURLs:    []string{settings.BaseURL.String()},
		webhookURL:     settings.BaseURL.JoinPath("webhooks/logto").String(),
		webhookRetries: *webhookRetries,
		settings:       settings,
	}, logger)
	if err != nil {
		return err
	}
	a, err := startApp(ctx, settings, logger, appLn, metricsLn)
	if err != nil {
		st.shutdown()
		return err
	}
	// stop stops the app, then the stand-ins. No load balancer in front
	// of dev: no delay before closing.
	stop := func() error {
		err := a.shutdown(0, settings.ShutdownTimeout)
		if stErr := st.shutdown(); err == nil {
			err = stErr
		}
		return err
	}
	if err := markDemoSynced(ctx, st, a); err != nil {
		stop()
		return err
	}
	if *seedHistoryFlag {
		start := time.Now()
		n, err := seedHistory(ctx, st, a, settings, start)
		if err != nil {
			stop()
			return err
		}
		logger.Info("seeded the demo history", "new_people", n, "took", time.Since(start).Round(time.Millisecond))
	}
	printDevBanner(stdout, settings, logtoURL, permitURL, metricsLn, *seedHistoryFlag)
	select {
	case <-ctx.Done():
	case err := <-a.done:
		a.done <- err
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

func printDevBanner(w io.Writer, s config.Settings, logtoURL, permitURL string, metricsLn net.Listener, history bool) {
	fmt.Fprintf(w, "reportgate dev is running (offline: local Logto and Permit stand-ins, SQLite)\n\n")
	fmt.Fprintf(w, "  App:    %s\n", s.BaseURL)
	fmt.Fprintf(w, "  Logto:  %s (stand-in)\n", logtoURL)
	fmt.Fprintf(w, "  Permit: %s (stand-in: API and PDP)\n", permitURL)
	if metricsLn != nil {
		fmt.Fprintf(w, "  Metrics: http://%s/metrics (private listener)\n", metricsLn.Addr())
	}
	fmt.Fprintf(w, "  Data:   %s\n", strings.TrimPrefix(s.DatabaseURL, "sqlite:"))
	fmt.Fprintf(w, "  Stand-in controls (faults, propagation delay, webhooks): %s%s and %s%s (README)\n\n",
		permitURL, permit.ControlPrefix, logtoURL, logto.ControlPrefix)
	fmt.Fprintf(w, "Demo accounts (password %q):\n", demoPassword)
	for _, a := range demoAccounts {
		role := a.Role
		if role == "" {
			role = "no role"
		}
		fmt.Fprintf(w, "  %-22s %-12s %s\n", a.Email, a.Name, role)
	}
	if history {
		fmt.Fprintf(w, "\nReport history: %d demo people signed up over the last %d days (@%s, no password; --seed-history=false leaves them out)\n",
			historyPeople, historyDays, historyDomain)
	}
	fmt.Fprintf(w, "\nPress Ctrl+C to stop.\n")
}

// flagSet reports whether name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
