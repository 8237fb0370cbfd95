package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/handlers"
	"reportgate/internal/access"
	"reportgate/internal/audit"
	"reportgate/internal/auth"
	"reportgate/internal/authz"
	"reportgate/internal/broadcast"
	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/logtoapi"
	"reportgate/internal/metrics"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
	"reportgate/internal/policy"
	"reportgate/internal/provision"
	"reportgate/internal/ratelimit"
	"reportgate/internal/reports"
	"reportgate/internal/reqid"
	"reportgate/internal/session"
	"reportgate/internal/shutdown"
	"reportgate/internal/sweep"
	"reportgate/static"
)

// app is a running reportgate web app.
type app struct {
	db       *database.DB
	prov     *provision.Service
	people   *people.Service
	sessions *session.Store
	checker  *authz.Checker
	*shutdown.Servers
	// stopBus ends the invalidation listener (broadcast.Bus.Start).
	stopBus func()
}

// startApp opens the database, applies migrations and serves the app on ln
// until ctx ends or stop is called. Metrics are served on metricsLn; nil
// turns them off.
func startApp(ctx context.Context, s config.Settings, logger *slog.Logger, ln, metricsLn net.Listener) (_ *app, err error) {
	db, err := database.OpenMigrated(ctx, s.DatabaseURL, provision.Migrate)
	if err != nil {
		return nil, err
	}
	// Other replicas exist only on PostgreSQL; on SQLite the app is one
	// process.
	bus := broadcast.NewLocal()
	if db.Dialect == database.Postgres {
		bus = broadcast.NewPostgres(db, s.DatabaseURL, logger.With("component", "broadcast"))
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	sessions, err := session.NewStore(db, session.Options{
		CacheTTL:        s.SessionCacheTTL,
		Peers:           bus,
		Secret:          s.SessionSecret,
		PreviousSecret:  s.SessionSecretPrevious,
		Secure:          s.SecureCookies(),
		IdleTimeout:     s.SessionIdleTimeout,
		AbsoluteTimeout: s.SessionMaxAge,
	})
	if err != nil {
		return nil, err
	}
	logto := auth.New(auth.Config{
		Endpoint:       s.Logto.Endpoint,
		AppID:          s.Logto.AppID,
		AppSecret:      s.Logto.AppSecret,
		CallbackURL:    s.CallbackURL(),
		PostSignOutURL: s.PostSignOutURL(),
		Timeout:        s.Logto.Timeout,
	})
	// One registry per app; metrics go only to the private listener.
	meters := metrics.New(nil)
	checker, err := authz.New(authz.Config{
		APIKey:   s.Permit.APIKey,
		PDPURL:   s.Permit.PDPURL,
		APIURL:   s.Permit.APIURL,
		Tenant:   s.Permit.Tenant,
		Timeout:  s.Permit.Timeout,
		AllowTTL: s.Permit.AllowTTL,
		DenyTTL:  s.Permit.DenyTTL,
		Logger:   logger,

		ObservePDP: meters.ObservePDP,
		Peers:      bus,
	})
	if err != nil {
		return nil, err
	}
	// The report reads the counts; every write that changes them (a new
	// sign-up above all) drops the cached report here and on the other
	// replicas, so it shows at once.
	reader := people.NewStore(db, nil)
	report := reports.NewService(reader, nil, reports.DefaultTTL)
	users := reader.OnSignupsChange(report.Shared(bus, logger))
	client, err := permitdir.FromSettings(s.Permit)
	if err != nil {
		return nil, err
	}
	directory := permitdir.Timed{Client: client, Observe: meters.ObservePermitAPI}
	pol, err := policy.Default()
	if err != nil {
		return nil, err
	}
	trail := audit.New(db, s.AuditRetention, nil)
	// Approvals are granted by a job on the provisioning River client,
	// which is built below with the grant worker on it.
	jobs := &provisionJobs{}
	requests := access.New(access.Config{DB: db, Trail: trail, Policy: pol, Requestable: s.RequestablePermissions,
		Jobs: jobs, Grace: s.Permit.PropagationGrace})
	persons := people.New(people.Config{Store: users, Permit: directory, Decisions: checker, Trail: trail,
		Grants: requests, Sessions: sessions, Logger: logger, PermitTimeout: s.Permit.Timeout,
		Grace: s.Permit.PropagationGrace, Now: time.Now})
	grants := &access.GrantWorker{Service: requests, Permit: directory, CallTimeout: s.Permit.Timeout,
		OnGranted: persons.Granted}
	var logtoAPI provision.LogtoUsers
	if s.Logto.M2MAppID != "" {
		api, err := logtoapi.FromSettings(s.Logto)
		if err != nil {
			return nil, err
		}
		logtoAPI = api
	}
	prov, err := provision.New(provision.Config{
		DB:          db,
		Permit:      directory,
		Logto:       logtoAPI,
		Sessions:    sessions,
		DefaultRole: s.Permit.DefaultRole,
		MaxEventAge: s.EventMaxAge,
		MaxAttempts: s.SyncMaxAttempts,
		Retention:   s.Retention,
		Logger:      logger.With("component", "provision"),
		// Neither River driver over database/sql has LISTEN/NOTIFY, so idle
		// workers poll; a short interval keeps sign-up → access quick for
		// one cheap indexed query per interval.
		PollInterval: 200 * time.Millisecond,
		OnJobResult:  meters.SyncJob,
		AddWorkers: func(w *river.Workers) error {
			return river.AddWorkerSafely(w, grants)
		},
		Audit:         trail,
		Erase:         people.EraseTx,
		OnUserChanged: persons.UserChanged,
	})
	if err != nil {
		return nil, err
	}
	jobs.svc = prov
	persons.UseSync(prov)
	if err := errors.Join(meters.Register(metrics.AuthzCollector(checker.Stats)),
		meters.Register(metrics.JobsCollector(prov.JobStates, 5*time.Second, logger))); err != nil {
		return nil, err
	}
	if err := prov.Start(ctx); err != nil {
		return nil, err
	}
	signInLimit, webhookLimit := rateLimits(s, time.Now)
	draining := new(atomic.Bool)
	handler := handlers.New(handlers.Deps{
		Logger:      logger,
		BaseURL:     s.BaseURL,
		Auth:        logto,
		Sessions:    sessions,
		DB:          db,
		Draining:    draining.Load,
		Assets:      static.New(),
		LogtoOrigin: s.Logto.Origin(),
		WebhookKeys: s.WebhookKeys,
		Authz:       checker,
		Reports:     report,

		Metrics:      meters,
		SignInLimit:  signInLimit,
		WebhookLimit: webhookLimit,

		People:      persons,
		PermitRoles: directory,
		Roles:       pol.RoleKeys(),
		Sync:        prov,
		Requests:    requests,
		Audit:       trail,
	})
	go sweep.Run(ctx, logger,
		sweep.Job{What: "expired sessions", Every: 5 * time.Minute, Delete: func(ctx context.Context) (int64, error) {
			n, err := sessions.DeleteExpired(ctx)
			return int64(n), err
		}},
		sweep.Job{What: "events and finished jobs past retention", Every: time.Hour, Delete: func(ctx context.Context) (int64, error) {
			return 0, prov.Sweep(ctx)
		}},
		sweep.Job{What: "audit entries past retention", Every: time.Hour, Delete: trail.Sweep},
		sweep.Job{What: "payloads of deleted people (recorded as they were deleted)", Every: 5 * time.Minute,
			Delete: prov.SweepDeletedPayloads})
	return &app{db: db, prov: prov, people: persons, sessions: sessions, checker: checker,
		Servers: shutdown.Serve(draining, ln, handler, metricsLn, meters.Handler(logger), logger),
		stopBus: bus.Start(ctx)}, nil
}

// rateLimits are the per-client limits of the sign-in routes and of
// rejected webhooks; both nil when REPORTGATE_RATE_LIMIT is 0. They are
// separate budgets, so junk webhook deliveries cannot use up a person's
// sign-in attempts from the same address.
func rateLimits(s config.Settings, now func() time.Time) (signIn, webhooks handlers.RateLimiter) {
	if s.RateLimit <= 0 {
		return nil, nil
	}
	clients := ratelimit.Clients{Trusted: s.TrustedProxies}
	return ratelimit.PerClient{Clients: clients, Limiter: ratelimit.New(s.RateLimit, 0, now)},
		ratelimit.PerClient{Clients: clients, Limiter: ratelimit.New(s.RateLimit, 0, now)}
}

// shutdown stops the app (shutdown.Servers.Stop), then the invalidation
// listener, then closes the database.
func (a *app) shutdown(delay, timeout time.Duration) error {
	err := a.Stop(delay, timeout, a.prov)
	a.stopBus()
	if closeErr := a.db.Close(); err == nil {
		err = closeErr
	}
	return err
}

const serveUsage = `Usage:
  reportgate serve

Runs the app. Settings come from the environment, then ./.env (the
README lists them); serve takes no arguments.
`

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if help, err := parseFlags(fs, serveUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments; it reads its settings from the environment (see README)")
	}
	settings, err := config.LoadEnvironment(getenv)
	if err != nil {
		return err
	}
	logger := reqid.NewLogger(stderr, settings.LogLevel, true)
	ln, err := net.Listen("tcp", settings.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var metricsLn net.Listener
	if settings.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", settings.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics (REPORTGATE_METRICS_ADDR): %w", err)
		}
		logger.Info("metrics listener", "addr", metricsLn.Addr().String())
	}
	a, err := startApp(ctx, settings, logger, ln, metricsLn)
	if err != nil {
		ln.Close()
		if metricsLn != nil {
			metricsLn.Close()
		}
		return err
	}
	logger.Info("reportgate serving", "addr", ln.Addr().String(), "base_url", settings.BaseURL.String())
	select {
	case <-ctx.Done():
	case err := <-a.Done:
		a.Done <- err
	}
	logger.Info("shutting down", "delay", settings.ShutdownDelay, "timeout", settings.ShutdownTimeout)
	return a.shutdown(settings.ShutdownDelay, settings.ShutdownTimeout)
}

// provisionJobs enqueues access-grant jobs on the provisioning River
// client; svc is set once that client exists, before the app serves.
type provisionJobs struct {
	svc *provision.Service
}

func (j *provisionJobs) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return j.svc.InsertTx(ctx, tx, args, opts)
}
