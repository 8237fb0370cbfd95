// Package provision turns Logto user events into Permit.io directory
// writes without ever losing a user or applying an event twice.
//
// Logto sends each webhook once, with no retry and no queue on its side
// (releases before #9410), and the Permit Go SDK has no retries either.
// Syncing inside the webhook request, as the public
// guide does, therefore loses a user on any Permit hiccup. Instead Ingest
// records the delivery and enqueues a River job in ONE database transaction
// before the receiver answers; the job does the Permit calls later and is
// retried with backoff until it succeeds or runs out of attempts, where it
// stays visible (Overview) and can be retried (RetryJob).
//
// The user_sync row, not the webhook, is the truth a job acts on:
//
//   - Deliveries carry no delivery or event id, so they are deduplicated by
//     the SHA-256 of the exact body; a replay or a post-#9410 retry (same
//     bytes and signature) is counted as a duplicate and changes nothing.
//   - Events arrive in any order (Logto guarantees none): User.Deleted
//     leaves a tombstone that a late User.Created cannot lift, and
//     email/name and the suspension flag only move forward in event time.
//   - There is at most one live job per user (River unique jobs by user id
//     over every state but completed/discarded/cancelled), so Permit never
//     sees two concurrent writers for one user. An event that arrives while
//     that job runs bumps user_sync.generation; the job completes only in a
//     transaction that finds the generation unchanged (River JobCompleteTx),
//     and otherwise snoozes and runs again with the new data.
//   - The default role is granted once ever (default_role_granted_at), so a
//     role an admin removed in Permit is never restored by a replay, a late
//     retry, a reconcile at sign-in or a backfill. The one window left: a
//     crash after Permit accepted the grant but before the timestamp was
//     committed re-grants on rescue (409 → success); an admin removal inside
//     that window (RescueAfter) would be undone.
//
// Recovery after a crash. A process killed mid-job leaves its jobs in
// River's "running" state; only River's rescuer moves them back, and only
// once they have been running longer than RescueAfter. Facts about River
// (v0.51) the timing rests on: the rescuer runs on the leader, at once when
// it becomes leader (after up to 1 s of start-up stagger) and then every
// 30 s, a cadence that cannot be configured; the leader renews its lease
// every 5 s for 15 s, so after the leader is killed a new one is elected
// 10–21 s later (the lease lapses 10–15 s after the kill; other clients try
// every 5–6 s); a rescued job is retryable at its backoff and made
// available by the scheduler, which runs every 5 s. So:
//
//   - Every call a job makes has its own deadline, CallTimeout (2 s by
//     default, shorter than the clients' own timeouts if need be). A job
//     makes at most 4 such calls (Logto GetUser, session revocation, Permit
//     SyncUser, AssignRole) plus a few short statements, so JobTimeout is
//     4 × CallTimeout + 2 s (10 s) and RescueAfter defaults to JobTimeout +
//     2 s (12 s); River requires RescueAfter ≥ JobTimeout, and anything
//     shorter would rescue jobs that are still legitimately running.
//   - Restart of the only process (it was the leader): its successor is
//     elected 10–21 s after the kill and rescues at once every job that
//     started ≥ 12 s before; a job started in the last 2 s before a kill
//     whose lease lapsed early waits for the next rescuer run, 30 s later.
//     Worst case ≈ 12 + 30 + 5 (scheduler) + backoff + the work itself,
//     under a minute; typically 15–25 s.
//   - A killed replica that was not the leader: the live leader's rescuer
//     takes its jobs within RescueAfter + 30 s, plus the scheduler's 5 s.
//   - Rescue can hand a job to a second worker while the first is still in
//     it (a call that ignored its deadline, a process paused longer than
//     RescueAfter). On PostgreSQL each job therefore holds a per-person
//     advisory lock while it works; a job finding it taken snoozes. See
//     lockPerson for SQLite.
//   - Not done: reclaiming a dead process's jobs at start-up without
//     waiting for the rescuer. River records no liveness per client, so a
//     new process cannot prove that a job's worker is dead rather than slow
//     when several replicas share the database.
//
// Both database engines go through database/sql (*sql.Tx): riversqlite for
// SQLite and riverdatabasesql over pgx's stdlib driver for PostgreSQL, so
// there is one code path. SQLite has a single connection (database.Open),
// so nothing here touches the pool while it holds a transaction.
package provision

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/audit"
	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/webhook"
)

// Permit is the directory the jobs write to (permitdir.Client in the app).
// Every method must be idempotent: SyncUser upserts, AssignRole treats
// "already assigned" and DeleteUser "already gone" as success. SyncUser
// refused because another user holds the email returns an error wrapping
// a *permitdir.EmailTakenError.
type Permit interface {
	SyncUser(ctx context.Context, key, email, name string) error
	AssignRole(ctx context.Context, key, role string) error
	DeleteUser(ctx context.Context, key string) error
}

// LogtoUsers looks users up in Logto's Management API (logtoapi.Client).
// A user Logto does not have is an error wrapping logtoapi.ErrNotFound.
type LogtoUsers interface {
	GetUser(ctx context.Context, id string) (webhook.User, error)
}

// SessionRevoker ends a user's app sessions (session.Store).
type SessionRevoker interface {
	RevokeUser(ctx context.Context, userID string) (int, error)
}

// Defaults for Config. Those of settings live in internal/config.
const (
	DefaultRole = config.DefaultRole
	// MaxEventSkew is how far ahead of our clock an event may be dated
	// (Logto's clock and ours differ a little); later ones are OutcomeFuture.
	MaxEventSkew       = 5 * time.Minute
	DefaultCallTimeout = 2 * time.Second
	// DefaultWorkers: River fetches at most one batch of jobs per
	// cooldown (100 ms), so a sync runs at about DefaultWorkers×10 jobs/s
	// (3,000 sign-ups in about a minute) whatever the job's own speed.
	// More workers sync a burst sooner but take the database and CPU from
	// the webhooks arriving meanwhile: with 10, a running dev received
	// about a third fewer webhooks/s on PostgreSQL.
	DefaultWorkers = 5
	revokeTimeout  = 5 * time.Second
	// postgresIngestWriters is how many webhook batches are written at once
	// on PostgreSQL.
	postgresIngestWriters = 2
	jobKind               = "provision_user"
	// callsPerJob is the most outside calls one job makes (GetUser,
	// RevokeUser, SyncUser, AssignRole); jobSlack covers its statements.
	callsPerJob = 4
	jobSlack    = 2 * time.Second
	// lockBusyRetry is how long a job snoozes when another worker holds
	// its person's lock.
	lockBusyRetry = time.Second
	// cancelWait bounds the wait for cancelled jobs to return once Stop's
	// context has ended (their calls honour cancellation).
	cancelWait = time.Second
)

// Config configures a Service.
type Config struct {
	DB       *database.DB
	Permit   Permit
	Logto    LogtoUsers // nil: jobs sync what the webhooks carried
	Sessions SessionRevoker
	// DefaultRole is granted once per user; "" → PERMIT_DEFAULT_ROLE's default.
	DefaultRole string
	// MaxEventAge: older deliveries are recorded as stale and not acted on
	// (the signature has no timestamp, so this bounds replays).
	// 0 → REPORTGATE_EVENT_MAX_AGE's default.
	MaxEventAge time.Duration
	// MaxAttempts per job before it is discarded; 0 →
	// REPORTGATE_SYNC_MAX_ATTEMPTS's default.
	MaxAttempts int
	// RetryBackoff is the wait before attempt+1; nil → exponential, 1 s
	// doubling up to 15 min, with jitter.
	RetryBackoff func(attempt int) time.Duration
	// CallTimeout is the deadline of each outside call a job makes (Permit,
	// Logto, session revocation); 0 → DefaultCallTimeout. The job timeout
	// is derived from it (JobTimeout).
	CallTimeout time.Duration
	// RescueAfter is how long a job may stay running before River assumes
	// its process died and retries it; 0 → JobTimeout + 2 s. It must
	// exceed JobTimeout.
	RescueAfter time.Duration
	// Retention of webhook_events and finished jobs; 0 →
	// REPORTGATE_RETENTION's default.
	Retention time.Duration
	// Workers is the number of jobs run at once; 0 → DefaultWorkers.
	Workers int
	// PollInterval is how often idle workers look for jobs (neither driver
	// has LISTEN/NOTIFY over database/sql); 0 → River's 1 s.
	PollInterval time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	// OnUserChanged, if set, is called after a user was synced to Permit,
	// with what was synced, so the app can update its own records.
	OnUserChanged func(ctx context.Context, u webhook.User)
	// AddWorkers, if set, registers other packages' job workers on the
	// same River client, so their jobs share its queue, retries and
	// rescue (InsertTx enqueues them).
	AddWorkers func(*river.Workers) error
	// Erase, if set, runs in the transaction that writes a User.Deleted
	// tombstone, to erase the person's data held elsewhere in the database.
	Erase func(ctx context.Context, tx *sql.Tx, userID string) error
	// Audit, if set, records the grants and session revocations the jobs
	// make, after each call with its outcome.
	Audit AuditTrail
	// OnJobResult, if set, is told how each sync job attempt on this
	// replica ended: "succeeded", "retried" (it failed and will run
	// again), "failed" (out of attempts) or "cancelled".
	OnJobResult func(result string)
}

// AuditTrail records what the jobs changed (audit.Trail), in a
// transaction that reads whether the person is deleted (see liveNameTx).
type AuditTrail interface {
	RecordTx(ctx context.Context, tx *sql.Tx, e audit.Entry) error
}

// Service ingests webhooks and runs the sync jobs.
type Service struct {
	db          *database.DB
	permit      Permit
	logto       LogtoUsers
	sessions    SessionRevoker
	role        string
	maxAge      time.Duration
	maxAttempts int
	retention   time.Duration
	now         func() time.Time
	log         *slog.Logger
	onChanged   func(context.Context, webhook.User)
	onResult    func(string)
	ingests     *groupCommitter
	erase       func(ctx context.Context, tx *sql.Tx, userID string) error
	audit       AuditTrail

	river *river.Client[*sql.Tx]
	// completeTx is river.JobCompleteTx instantiated for the driver in use;
	// the function needs the driver type as a type parameter.
	completeTx func(ctx context.Context, tx *sql.Tx, job *river.Job[syncArgs]) error
}

// syncArgs is the job: bring user UserID in Permit in line with user_sync.
type syncArgs struct {
	UserID string `json:"user_id" river:"unique"`
}

func (syncArgs) Kind() string { return jobKind }

// liveStates are the states in which a job for a user blocks another: all
// but completed, cancelled and discarded. River requires available,
// pending, running and scheduled (insert_opts.go ByState).
var liveStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// New builds the Service and its River client. It does not start workers
// (Start) and makes no Permit or Logto call; Ingest works without Start.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Permit == nil {
		return nil, errors.New("provision: DB and Permit are required")
	}
	call := cmp.Or(cfg.CallTimeout, DefaultCallTimeout)
	jobTimeout := JobTimeout(call)
	rescue := cmp.Or(cfg.RescueAfter, jobTimeout+jobSlack)
	if rescue <= jobTimeout {
		return nil, fmt.Errorf("provision: RescueAfter %s must exceed the job timeout %s", rescue, jobTimeout)
	}
	s := &Service{
		db:          cfg.DB,
		permit:      boundedPermit{cfg.Permit, call},
		role:        cmp.Or(cfg.DefaultRole, DefaultRole),
		maxAge:      cmp.Or(cfg.MaxEventAge, config.DefaultEventMaxAge),
		maxAttempts: cmp.Or(cfg.MaxAttempts, config.DefaultSyncMaxAttempts),
		retention:   cmp.Or(cfg.Retention, config.DefaultRetention),
		now:         cfg.Now,
		log:         cfg.Logger,
		onChanged:   cfg.OnUserChanged,
		onResult:    cfg.OnJobResult,
		erase:       cfg.Erase,
		audit:       cfg.Audit,
	}
	if s.onResult == nil {
		s.onResult = func(string) {}
	}
	s.ingests = &groupCommitter{write: s.ingestBatch, writers: 1}
	if cfg.DB.Dialect == database.Postgres {
		s.ingests.writers = postgresIngestWriters
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Logto != nil {
		s.logto = boundedLogtoUsers{cfg.Logto, call}
	}
	if cfg.Sessions != nil {
		s.sessions = boundedRevoker{cfg.Sessions, call}
	}
	backoff := cfg.RetryBackoff
	if backoff == nil {
		backoff = defaultBackoff
	}

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &syncWorker{s: s}); err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	if cfg.AddWorkers != nil {
		if err := cfg.AddWorkers(workers); err != nil {
			return nil, fmt.Errorf("provision: %w", err)
		}
	}
	rc := &river.Config{
		Queues:                      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cmp.Or(cfg.Workers, DefaultWorkers)}},
		Workers:                     workers,
		MaxAttempts:                 s.maxAttempts,
		RetryPolicy:                 retryPolicy{backoff: backoff},
		RescueStuckJobsAfter:        rescue,
		JobTimeout:                  jobTimeout,
		CompletedJobRetentionPeriod: s.retention,
		CancelledJobRetentionPeriod: s.retention,
		DiscardedJobRetentionPeriod: s.retention,
		Logger:                      s.log,
	}
	if cfg.PollInterval > 0 {
		rc.FetchPollInterval = cfg.PollInterval
		rc.FetchCooldown = min(cfg.PollInterval, river.FetchCooldownDefault)
	}
	var err error
	switch cfg.DB.Dialect {
	case database.SQLite:
		s.river, err = river.NewClient(riversqlite.New(cfg.DB.DB), rc)
		s.completeTx = func(ctx context.Context, tx *sql.Tx, job *river.Job[syncArgs]) error {
			_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job)
			return err
		}
	case database.Postgres:
		s.river, err = river.NewClient(riverdatabasesql.New(cfg.DB.DB), rc)
		s.completeTx = func(ctx context.Context, tx *sql.Tx, job *river.Job[syncArgs]) error {
			_, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, job)
			return err
		}
	default:
		return nil, fmt.Errorf("provision: unsupported dialect %q", cfg.DB.Dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("provision: river client: %w", err)
	}
	return s, nil
}

// InsertTx enqueues a job of a worker registered through
// Config.AddWorkers, in tx.
func (s *Service) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return s.river.InsertTx(ctx, tx, args, opts)
}

// Migrate creates or upgrades River's own tables. The app's tables
// (0003_provisioning.sql) come from database.Migrate; call that first.
func Migrate(ctx context.Context, db *database.DB) error {
	var (
		m   *rivermigrate.Migrator[*sql.Tx]
		err error
	)
	switch db.Dialect {
	case database.SQLite:
		m, err = rivermigrate.New(riversqlite.New(db.DB), nil)
	case database.Postgres:
		m, err = rivermigrate.New(riverdatabasesql.New(db.DB), nil)
	default:
		return fmt.Errorf("migrate river: unsupported dialect %q", db.Dialect)
	}
	if err == nil {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}

// JobTimeout is the run time a job is allowed when each of its outside
// calls has deadline call: callsPerJob calls and a margin for its database
// statements.
func JobTimeout(call time.Duration) time.Duration {
	return callsPerJob*call + jobSlack
}

// Start starts the workers and River's maintenance (retry scheduling,
// rescue of jobs stuck by a dead process, cleanup). The workers run until
// Stop, not until ctx ends: River treats a cancelled start context as a
// hard stop that cancels running jobs, and a shutdown must be able to let
// them finish after the signal that cancelled ctx.
func (s *Service) Start(ctx context.Context) error {
	if err := s.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("provision: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and lets running ones finish until ctx ends;
// then it cancels them and waits at most another second for them to
// return. Jobs cut short are retried later, by this process's successor.
func (s *Service) Stop(ctx context.Context) error {
	err := s.river.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.Background(), cancelWait)
		defer cancel()
		s.river.StopAndCancel(cctx)
	}
	if err != nil {
		return fmt.Errorf("provision: stop: %w", err)
	}
	return nil
}

type retryPolicy struct {
	backoff func(attempt int) time.Duration
}

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().UTC().Add(p.backoff(job.Attempt))
}

func defaultBackoff(attempt int) time.Duration {
	d := 15 * time.Minute
	if attempt < 10 {
		d = min(d, time.Second<<attempt)
	}
	return d/2 + rand.N(d/2+1)
}
