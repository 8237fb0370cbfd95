package provision

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/database"
	"reportgate/internal/fault"
)

// Statuses reported by State.
const (
	StatusUnknown = "unknown" // never heard of
	StatusQueued  = "queued"  // a sync is pending
	StatusFailed  = "failed"  // the last attempt failed (retrying, or given up)
	StatusSynced  = "synced"
	StatusDeleted = "deleted" // deleted in Logto (removal from Permit may be pending)
)

// State is a user's provisioning status.
type State struct {
	Status    string
	SyncedAt  time.Time // zero if never
	LastError string
	Attempts  int
}

// State reports where userID's provisioning stands.
func (s *Service) State(ctx context.Context, userID string) (State, error) {
	states, err := s.States(ctx, []string{userID})
	if err != nil {
		return State{}, fmt.Errorf("provision state %s: %w", userID, err)
	}
	return states[userID], nil
}

// States reports where each of userIDs' provisioning stands, in one query;
// every id is in the map (StatusUnknown when never heard of).
func (s *Service) States(ctx context.Context, userIDs []string) (map[string]State, error) {
	out := make(map[string]State, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		args[i] = id
		out[id] = State{Status: StatusUnknown}
	}
	err := s.scan(ctx, `SELECT user_id, state, deleted_at, synced_at, last_error, attempts
		FROM user_sync WHERE user_id IN (`+database.Placeholders(1, len(userIDs))+`)`, args, func(r *sql.Rows) error {
		var id, state, lastErr string
		var deleted, synced sql.NullInt64
		var attempts int
		if err := r.Scan(&id, &state, &deleted, &synced, &lastErr, &attempts); err != nil {
			return err
		}
		st := State{SyncedAt: fromMilli(synced.Int64), LastError: lastErr, Attempts: attempts} // NULL reads as 0: zero time
		switch {
		case deleted.Valid:
			st.Status = StatusDeleted
		case state == "synced":
			st.Status = StatusSynced
		case state == "failed":
			st.Status = StatusFailed
		default:
			st.Status = StatusQueued
		}
		out[id] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("provision states: %w", err)
	}
	return out, nil
}

// FailedJobs counts the sync jobs that gave up or were stopped (the ones
// Overview lists as Failed and RetryJob can run again).
func (s *Service) FailedJobs(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = $1 AND state IN ($2, $3)`,
		jobKind, string(rivertype.JobStateDiscarded), string(rivertype.JobStateCancelled)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count failed jobs: %w", err)
	}
	return n, nil
}

// Overview is the admin page's view of provisioning. It holds no payloads
// and no secrets.
type Overview struct {
	Counts  []KindCount
	Users   map[string]int // user_sync rows by state
	Recent  []EventSummary // newest first
	Pending []JobSummary   // jobs not finished: available, running, retryable, scheduled
	Failed  []JobSummary   // jobs that gave up (discarded) or stopped (cancelled); RetryJob re-enqueues
}

// KindCount counts signed deliveries of one Outcome. Last24h is exact for
// the stored outcomes; for duplicates only daily totals exist, so it covers
// the current and the previous UTC day. Rejected deliveries are not here:
// they are counted in memory, never in the database, so that unsigned
// requests cost no write.
type KindCount struct {
	Kind           string
	Last24h, Total int64
}

// EventSummary is one recorded delivery.
type EventSummary struct {
	ID                         int64
	Event, UserID, Outcome     string
	ReceivedAt, EventCreatedAt time.Time
	JobID                      int64 // 0 if none
}

// JobSummary is one sync job.
type JobSummary struct {
	ID                   int64
	UserID               string
	State                string
	Attempt, MaxAttempts int
	LastError            string
	ScheduledAt          time.Time
}

var countKinds = []string{string(OutcomeAccepted), string(OutcomeIgnored), string(OutcomeTest),
	string(OutcomeStale), string(OutcomeFuture), string(OutcomeDuplicate)}

// storedOutcomes are the outcomes recorded in webhook_events (a duplicate
// is only counted).
var storedOutcomes = []Outcome{OutcomeAccepted, OutcomeIgnored, OutcomeTest, OutcomeStale, OutcomeFuture}

const overviewRows = 50

// Overview gathers counts, recent deliveries (ignored ones included) and
// unfinished and failed jobs.
func (s *Service) Overview(ctx context.Context) (Overview, error) {
	return s.OverviewOf(ctx, OverviewQuery{Ignored: true})
}

// OverviewQuery chooses what Overview lists.
type OverviewQuery struct {
	// Ignored lists deliveries recorded as ignored (PostSignIn, events
	// reportgate does not act on) among the recent ones; they are still
	// counted either way.
	Ignored bool
}

// OverviewOf is Overview with q's choices.
func (s *Service) OverviewOf(ctx context.Context, q OverviewQuery) (Overview, error) {
	now := s.now()
	ov := Overview{Users: map[string]int{}, Counts: make([]KindCount, len(countKinds))}
	totals := map[string]*KindCount{}
	for i, k := range countKinds {
		ov.Counts[i].Kind = k
		totals[k] = &ov.Counts[i]
	}
	today := now.UTC().Unix() / 86400
	if err := s.scan(ctx, `SELECT kind, SUM(n), SUM(CASE WHEN day >= $1 THEN n ELSE 0 END)
		FROM webhook_counts GROUP BY kind`, []any{today - 1}, func(r *sql.Rows) error {
		var kind string
		var total, recent int64
		if err := r.Scan(&kind, &total, &recent); err != nil {
			return err
		}
		if c := totals[kind]; c != nil {
			c.Total, c.Last24h = total, recent
		}
		return nil
	}); err != nil {
		return ov, err
	}
	// Stored outcomes: exact, from the events themselves (0 if none).
	for _, k := range storedOutcomes {
		totals[string(k)].Last24h = 0
	}
	if err := s.scan(ctx, `SELECT outcome, COUNT(*) FROM webhook_events WHERE received_at >= $1 GROUP BY outcome`,
		[]any{now.Add(-24 * time.Hour).UnixMilli()}, func(r *sql.Rows) error {
			var outcome string
			var n int64
			if err := r.Scan(&outcome, &n); err != nil {
				return err
			}
			if slices.Contains(storedOutcomes, Outcome(outcome)) {
				totals[outcome].Last24h = n
			}
			return nil
		}); err != nil {
		return ov, err
	}
	if err := s.scan(ctx, `SELECT state, COUNT(*) FROM user_sync GROUP BY state`, nil, func(r *sql.Rows) error {
		var state string
		var n int
		if err := r.Scan(&state, &n); err != nil {
			return err
		}
		ov.Users[state] = n
		return nil
	}); err != nil {
		return ov, err
	}
	where, args := "", []any{overviewRows}
	if !q.Ignored {
		where, args = ` WHERE outcome <> $2`, append(args, string(OutcomeIgnored))
	}
	if err := s.scan(ctx, `SELECT id, event, user_id, outcome, received_at, event_created_at, job_id
		FROM webhook_events`+where+` ORDER BY id DESC LIMIT $1`, args, func(r *sql.Rows) error {
		var e EventSummary
		var received, created int64
		var job sql.NullInt64
		if err := r.Scan(&e.ID, &e.Event, &e.UserID, &e.Outcome, &received, &created, &job); err != nil {
			return err
		}
		e.ReceivedAt, e.EventCreatedAt, e.JobID = fromMilli(received), fromMilli(created), job.Int64
		ov.Recent = append(ov.Recent, e)
		return nil
	}); err != nil {
		return ov, err
	}
	var err error
	if ov.Pending, err = s.jobs(ctx, liveStates...); err != nil {
		return ov, err
	}
	if ov.Failed, err = s.jobs(ctx, rivertype.JobStateDiscarded, rivertype.JobStateCancelled); err != nil {
		return ov, err
	}
	return ov, nil
}

func (s *Service) scan(ctx context.Context, query string, args []any, row func(*sql.Rows) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return fmt.Errorf("overview: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	return nil
}

func (s *Service) jobs(ctx context.Context, states ...rivertype.JobState) ([]JobSummary, error) {
	res, err := s.river.JobList(ctx, river.NewJobListParams().Kinds(jobKind).States(states...).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(overviewRows))
	if err != nil {
		return nil, fmt.Errorf("overview: list jobs: %w", err)
	}
	var out []JobSummary
	for _, j := range res.Jobs {
		out = append(out, summarize(j))
	}
	return out, nil
}

func summarize(j *rivertype.JobRow) JobSummary {
	var args syncArgs
	_ = json.Unmarshal(j.EncodedArgs, &args) // a bad row still shows, without a user
	js := JobSummary{ID: j.ID, UserID: args.UserID, State: string(j.State), Attempt: j.Attempt,
		MaxAttempts: j.MaxAttempts, ScheduledAt: j.ScheduledAt}
	if n := len(j.Errors); n > 0 {
		// River prefixes the error of a job the worker cancelled.
		js.LastError = strings.TrimPrefix(j.Errors[n-1].Error, "JobCancelError: ")
	}
	return js
}

// ErrJobNotFound means there is no sync job with that id: there never was,
// it was swept after Retention, or it is some other kind of job.
var ErrJobNotFound = fmt.Errorf("sync job %w", fault.NotFound)

// RetryJob makes a failed (discarded or cancelled) or waiting job run
// again now. If the user already has a newer live job, that one carries the
// retry and the old job stays as it is. An unknown id is ErrJobNotFound.
func (s *Service) RetryJob(ctx context.Context, jobID int64) error {
	job, err := s.river.JobGet(ctx, jobID)
	if errors.Is(err, rivertype.ErrNotFound) {
		return fmt.Errorf("retry job %d: %w", jobID, ErrJobNotFound)
	}
	if err != nil {
		return fmt.Errorf("retry job %d: %w", jobID, err)
	}
	if job.Kind != jobKind {
		return fmt.Errorf("retry job %d is a %s job: %w", jobID, job.Kind, ErrJobNotFound)
	}
	if _, err := s.river.JobRetry(ctx, jobID); err == nil {
		return nil
	} else if job.State != rivertype.JobStateDiscarded && job.State != rivertype.JobStateCancelled {
		return fmt.Errorf("retry job %d: %w", jobID, err)
	}
	// Most likely a unique conflict with a newer live job for the user:
	// make sure one is queued.
	var args syncArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return fmt.Errorf("retry job %d: %w", jobID, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("retry job %d: %w", jobID, err)
	}
	defer tx.Rollback()
	if _, err := s.enqueue(ctx, tx, args.UserID); err != nil {
		return fmt.Errorf("retry job %d: %w", jobID, err)
	}
	return tx.Commit()
}

// deletedPayloadWindow is how far back SweepDeletedPayloads looks for
// deletions: many of its runs, so a missed run loses nothing.
const deletedPayloadWindow = time.Hour

// SweepDeletedPayloads blanks every payload still stored for a person
// deleted within deletedPayloadWindow, and returns how many it blanked.
// The deletion erases what is recorded when it runs, and each batch
// blanks what it records about a tombstoned person; but on PostgreSQL a
// delivery recorded by another replica in the same moment sees neither
// the deletion's tombstone nor is seen by its erasure.
func (s *Service) SweepDeletedPayloads(ctx context.Context) (int64, error) {
	since := s.now().Add(-deletedPayloadWindow).UnixMilli()
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_events SET payload = '' WHERE payload <> ''
		AND user_id IN (SELECT user_id FROM user_sync WHERE deleted_at >= $1)`, since)
	if err != nil {
		return 0, fmt.Errorf("sweep payloads of deleted people: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sweep payloads of deleted people: %w", err)
	}
	return n, nil
}

// Sweep deletes webhook_events and finished (completed, cancelled,
// discarded) sync jobs older than Retention. River's own cleaner does the
// same for jobs; Sweep makes it explicit and covers the app's tables.
func (s *Service) Sweep(ctx context.Context) error {
	cutoff := s.now().Add(-s.retention)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM webhook_events WHERE received_at < $1`, cutoff.UnixMilli()); err != nil {
		return fmt.Errorf("sweep events: %w", err)
	}
	for {
		res, err := s.river.JobList(ctx, river.NewJobListParams().Kinds(jobKind).
			States(rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded).
			OrderBy(river.JobListOrderByFinalizedAt, river.SortOrderAsc).First(500))
		if err != nil {
			return fmt.Errorf("sweep jobs: %w", err)
		}
		var ids []int64
		for _, j := range res.Jobs {
			if j.FinalizedAt == nil || !j.FinalizedAt.Before(cutoff) {
				break
			}
			ids = append(ids, j.ID)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := s.river.JobDeleteMany(ctx, river.NewJobDeleteManyParams().IDs(ids...)); err != nil {
			return fmt.Errorf("sweep jobs: %w", err)
		}
	}
}
