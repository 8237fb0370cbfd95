package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/policy"
)

// demoPassword is the password of every seeded demo account.
const demoPassword = "demo-password"

type demoAccount struct {
	Email, Name, Role string
}

var demoAccounts = []demoAccount{
	{"admin@example.com", "Ada Admin", "admin"},
	{"analyst@example.com", "Ana Analyst", "analyst"},
	{"viewer@example.com", "Vic Viewer", "viewer"},
	{"norole@example.com", "Nora Norole", ""},
}

// devSecrets are generated once per data directory and kept there, so a
// restart keeps sessions, accounts and webhook signatures valid.
type devSecrets struct {
	SessionSecret     string `json:"session_secret"`
	AppID             string `json:"app_id"`
	AppSecret         string `json:"app_secret"`
	M2MAppID          string `json:"m2m_app_id"`
	M2MAppSecret      string `json:"m2m_app_secret"`
	WebhookSigningKey string `json:"webhook_signing_key"`
	PermitAPIKey      string `json:"permit_api_key"`
}

func loadDevSecrets(dataDir string) (devSecrets, error) {
	path := filepath.Join(dataDir, "dev-secrets.json")
	var s devSecrets
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s); err != nil {
			return s, fmt.Errorf("read %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return s, err
	}
	changed := false
	fill := func(field *string, prefix string, n int) {
		if *field == "" {
			*field = prefix + randomAlnum(n)
			changed = true
		}
	}
	fill(&s.SessionSecret, "", 48)
	fill(&s.AppID, "", 21)
	fill(&s.AppSecret, "", 32)
	fill(&s.M2MAppID, "m2m", 18)
	fill(&s.M2MAppSecret, "", 32)
	fill(&s.WebhookSigningKey, "", 32)
	fill(&s.PermitAPIKey, "permit_key_", 40)
	if !changed {
		return s, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return s, err
	}
	data, _ = json.MarshalIndent(s, "", "  ")
	return s, os.WriteFile(path, data, 0o600)
}

// randomAlnum returns n characters of [0-9a-z], like Logto's generated ids
// and secrets.
func randomAlnum(n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s devSecrets) settings(dataDir, baseURL, logtoURL, permitURL string) map[string]string {
	return map[string]string{
		"REPORTGATE_BASE_URL":       baseURL,
		"REPORTGATE_SESSION_SECRET": s.SessionSecret,
		"REPORTGATE_DATABASE_URL":   "sqlite:" + filepath.Join(dataDir, "reportgate.db"),
		"LOGTO_ENDPOINT":            logtoURL,
		"LOGTO_APP_ID":              s.AppID,
		"LOGTO_APP_SECRET":          s.AppSecret,
		"LOGTO_WEBHOOK_SIGNING_KEY": s.WebhookSigningKey,
		"LOGTO_M2M_APP_ID":          s.M2MAppID,
		"LOGTO_M2M_APP_SECRET":      s.M2MAppSecret,
		"PERMIT_API_KEY":            s.PermitAPIKey,
		"PERMIT_API_URL":            permitURL,
		"PERMIT_PDP_URL":            permitURL,
	}
}

// standins are the local Logto and Permit servers.
type standins struct {
	logto      *logto.Server
	logtoHTTP  *http.Server
	permit     *permit.Server
	permitHTTP *http.Server
	done       chan error
}

// standinListeners are the stand-ins' sockets, opened before settings are
// built so that port 0 (tests) resolves to real URLs.
type standinListeners struct {
	logto, permit       net.Listener
	logtoURL, permitURL string
	policy              policy.Policy
}

func listenStandins(logtoAddr, permitAddr string) (*standinListeners, error) {
	pol, err := policy.Default()
	if err != nil {
		return nil, err
	}
	sl := &standinListeners{policy: pol}
	if sl.logto, sl.logtoURL, err = listenURL(logtoAddr); err != nil {
		return nil, err
	}
	if sl.permit, sl.permitURL, err = listenURL(permitAddr); err != nil {
		sl.logto.Close()
		return nil, err
	}
	return sl, nil
}

func (sl *standinListeners) close() {
	sl.logto.Close()
	sl.permit.Close()
}

type standinOptions struct {
	dataDir        string
	listeners      *standinListeners
	permitDelay    time.Duration
	appBaseURLs    []string
	webhookURL     string
	webhookRetries bool
	settings       config.Settings
}

// startStandins serves the Logto and Permit stand-ins with the demo accounts
// seeded in both (their Permit roles included).
func startStandins(ctx context.Context, opts standinOptions, logger *slog.Logger) (*standins, error) {
	s := opts.settings
	var redirects, postLogout []string
	for _, base := range opts.appBaseURLs {
		base = strings.TrimRight(base, "/")
		redirects = append(redirects, base+"/callback")
		postLogout = append(postLogout, base+"/")
	}
	var seed []logto.SeedUser
	for _, a := range demoAccounts {
		seed = append(seed, logto.SeedUser{Email: a.Email, Password: demoPassword, Name: a.Name})
	}
	lt, err := logto.New(logto.Config{
		Endpoint: opts.listeners.logtoURL,
		DataDir:  opts.dataDir,
		Apps: []logto.App{
			{ID: s.Logto.AppID, Secret: s.Logto.AppSecret, Type: "Traditional", RedirectURIs: redirects, PostLogoutRedirectURIs: postLogout},
			{ID: s.Logto.M2MAppID, Secret: s.Logto.M2MAppSecret, Type: "MachineToMachine"},
		},
		SeedUsers:         seed,
		WebhookURL:        opts.webhookURL,
		WebhookSigningKey: s.Logto.WebhookSigningKey,
		WebhookRetries:    opts.webhookRetries,
		Logger:            logger.With("component", "logto-standin"),
	})
	if err != nil {
		return nil, fmt.Errorf("start Logto stand-in: %w", err)
	}
	pm, err := permit.New(permit.Config{
		APIKey:           s.Permit.APIKey,
		Policy:           opts.listeners.policy,
		DataDir:          opts.dataDir,
		PropagationDelay: opts.permitDelay,
		Logger:           logger.With("component", "permit-standin"),
	})
	if err != nil {
		lt.Close()
		return nil, fmt.Errorf("start Permit stand-in: %w", err)
	}
	st := &standins{
		logto:      lt,
		logtoHTTP:  &http.Server{Handler: lt.Handler(), ReadHeaderTimeout: 10 * time.Second},
		permit:     pm,
		permitHTTP: &http.Server{Handler: pm.Handler(), ReadHeaderTimeout: 10 * time.Second},
		done:       make(chan error, 2),
	}
	for srv, ln := range map[*http.Server]net.Listener{st.logtoHTTP: opts.listeners.logto, st.permitHTTP: opts.listeners.permit} {
		go func() {
			err := srv.Serve(ln)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			st.done <- err
		}()
	}
	if err := applyDevPolicy(ctx, s.Permit.APIKey, opts.listeners.permitURL, opts.listeners.policy); err != nil {
		st.shutdown()
		return nil, err
	}
	if err := seedDemoRoles(ctx, st, s); err != nil {
		st.shutdown()
		return nil, err
	}
	return st, nil
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

func (st *standins) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := errors.Join(drain(ctx, st.logtoHTTP), drain(ctx, st.permitHTTP))
	<-st.done
	<-st.done
	return errors.Join(err, st.logto.Close(), st.permit.Close())
}

func listenURL(addr string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, "http://" + ln.Addr().String(), nil
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
	secrets, err := loadDevSecrets(*dataDir)
	if err != nil {
		return err
	}
	appLn, appURL, err := listenURL(*addr)
	if err != nil {
		return err
	}
	defer appLn.Close()
	sl, err := listenStandins(*logtoAddr, *permitAddr)
	if err != nil {
		return err
	}
	defer sl.close()
	logtoURL, permitURL := sl.logtoURL, sl.permitURL

	dotenv, err := loadDotEnv()
	if err != nil {
		return fmt.Errorf("read .env: %w", err)
	}
	settings, err := config.Load(config.Layered(
		config.FromGetenv(getenv), config.FromMap(dotenv), config.FromMap(secrets.settings(*dataDir, appURL, logtoURL, permitURL))))
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
	if err := markDemoSynced(ctx, st, a); err != nil {
		a.shutdown(0, settings.ShutdownTimeout)
		st.shutdown()
		return err
	}
	if *seedHistoryFlag {
		start := time.Now()
		n, err := seedHistory(ctx, st, a, settings, start)
		if err != nil {
			a.shutdown(0, settings.ShutdownTimeout)
			st.shutdown()
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
	// No load balancer in front of dev: no delay before closing.
	err = a.shutdown(0, settings.ShutdownTimeout)
	if stErr := st.shutdown(); err == nil {
		err = stErr
	}
	return err
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
