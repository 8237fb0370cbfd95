package provision

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/audit"
	"reportgate/internal/webhook"
)

type syncWorker struct {
	river.WorkerDefaults[syncArgs]
	s *Service
}

// Work runs one sync under the person's lock (lockPerson). A job that finds
// the lock taken snoozes: the holder is doing the same work and a later
// run re-reads whatever it left.
func (w *syncWorker) Work(ctx context.Context, job *river.Job[syncArgs]) error {
	unlock, ok, err := w.s.lockPerson(ctx, job.Args.UserID)
	if err != nil {
		return w.s.fail(ctx, job, err)
	}
	if !ok {
		return river.JobSnooze(lockBusyRetry)
	}
	defer unlock()
	err = w.s.work(ctx, job)
	if r := jobResult(job, err); r != "" {
		w.s.onResult(r)
	}
	return err
}

// jobResult names how an attempt ended, or "" for a snooze (the job runs
// again with fresh data; nothing failed).
func jobResult(job *river.Job[syncArgs], err error) string {
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil:
		return "succeeded"
	case errors.As(err, &snooze):
		return ""
	case errors.As(err, &cancel):
		return "cancelled"
	case job.Attempt >= job.MaxAttempts:
		return "failed"
	default:
		return "retried"
	}
}

// syncRow is the part of user_sync a job acts on.
type syncRow struct {
	email, name  string
	registeredAt int64
	deleted      bool
	suspended    bool
	granted      bool
	needsFetch   bool
	generation   int64
}

func (s *Service) load(ctx context.Context, userID string) (syncRow, bool, error) {
	var r syncRow
	var deleted, granted sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT email, name, registered_at, deleted_at, suspended,
		default_role_granted_at, needs_fetch, generation FROM user_sync WHERE user_id = $1`, userID).
		Scan(&r.email, &r.name, &r.registeredAt, &deleted, &r.suspended, &granted, &r.needsFetch, &r.generation)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	r.deleted, r.granted = deleted.Valid, granted.Valid
	return r, true, nil
}

// work brings Permit in line with the user's user_sync row. It re-reads the
// row rather than trusting any event, so however many deliveries, replays
// and retries led here, the result is the same. Every Permit call is
// idempotent; what must happen once (the default-role grant) is guarded by
// a column set once ever.
func (s *Service) work(ctx context.Context, job *river.Job[syncArgs]) error {
	id := job.Args.UserID
	row, found, err := s.load(ctx, id)
	if err != nil {
		return s.fail(ctx, job, fmt.Errorf("load: %w", err))
	}
	if !found {
		// Nothing recorded (swept, or inserted by hand): nothing to do.
		return nil
	}

	if row.deleted {
		if err := s.revoke(ctx, id, "deleted"); err != nil {
			return s.fail(ctx, job, err)
		}
		if err := s.permit.DeleteUser(ctx, id); err != nil {
			return s.fail(ctx, job, err)
		}
		return s.finish(ctx, job, row.generation, "deleted", nil)
	}

	if row.needsFetch && s.logto != nil {
		u, err := s.logto.GetUser(ctx, id)
		if err != nil {
			return s.fail(ctx, job, fmt.Errorf("fetch from logto: %w", err))
		}
		at, err := logtoTime(ctx, s.db, id)
		if err != nil {
			return s.fail(ctx, job, err)
		}
		res, err := s.db.ExecContext(ctx, `UPDATE user_sync SET email = $2, name = $3,
			registered_at = CASE WHEN registered_at = 0 THEN $4 ELSE registered_at END,
			suspended = $5,
			suspended_at = CASE WHEN suspended_at > $6 THEN suspended_at ELSE $6 END,
			profile_at = CASE WHEN profile_at > $6 THEN profile_at ELSE $6 END,
			needs_fetch = FALSE, updated_at = $7
			WHERE user_id = $1 AND generation = $8`,
			id, u.Email, u.Name, unixMilli(u.CreatedAt), u.IsSuspended, at, s.now().UnixMilli(), row.generation)
		if err != nil {
			return s.fail(ctx, job, fmt.Errorf("store fetched user: %w", err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return river.JobSnooze(0) // changed meanwhile: start over
		}
		row.email, row.name, row.suspended = u.Email, u.Name, u.IsSuspended
	}

	if row.suspended {
		if err := s.revoke(ctx, id, "suspended"); err != nil {
			return s.fail(ctx, job, err)
		}
	}
	if err := s.syncUser(ctx, job, row.email, row.name); err != nil {
		return err
	}
	var grant *audit.Entry
	if !row.granted && s.role != "" {
		if err := s.permit.AssignRole(ctx, id, s.role); err != nil {
			return s.fail(ctx, job, err)
		}
		grant = &audit.Entry{ActorID: audit.ActorSystem, Action: audit.RoleGranted, SubjectID: id,
			Role: s.role, Detail: "default role, first sync (sign-up, sign-in reconcile or backfill)"}
	}
	if err := s.finish(ctx, job, row.generation, "synced", grant); err != nil {
		return err
	}
	if s.onChanged != nil {
		s.onChanged(ctx, webhook.User{ID: id, Email: row.email, Name: row.name,
			CreatedAt: fromMilli(row.registeredAt), IsSuspended: row.suspended})
	}
	return nil
}

// logtoTime is the time, on Logto's clock, to stamp profile data taken
// from Logto itself (a fetched user, an ID token) with: profile_at and
// suspended_at order it against events by their createdAt. It is the
// createdAt of the newest event applied for the user, the one that asked
// for a fetch or a later one. Logto's user carries no time of its own, and
// ours will not do: Logto's clock may be up to MaxEventSkew behind, and
// data stamped ahead of it would outrank, and so drop, a change made in
// Logto just after. Every event counted here was applied before the data
// is stored (a job's fetch is not stored if one came since it read the
// row: the generation moved), so Logto sent it before the data was read
// and the stamp is never ahead of the data. 0 when no event is left (a
// sign-in or a backfill asked): the stamps then stay as they were.
func logtoTime(ctx context.Context, q queryRower, userID string) (int64, error) {
	var at sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(event_created_at) FROM webhook_events
		WHERE user_id = $1 AND outcome = 'accepted'`, userID).Scan(&at); err != nil {
		return 0, fmt.Errorf("time on logto's clock: %w", err)
	}
	return at.Int64, nil
}

// queryRower is a *sql.DB or a *sql.Tx.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// revoke ends the person's sessions; why ("suspended", "deleted") goes in
// the audit entry when any ended.
func (s *Service) revoke(ctx context.Context, userID, why string) error {
	if s.sessions == nil {
		return nil
	}
	n, err := s.sessions.RevokeUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	s.recordRevoked(ctx, userID, why, n)
	return nil
}

// recordRevoked audits n sessions of userID ended because the person was
// why ("suspended", "deleted"); nothing when none were. The entry names
// the person as user_sync does when it is written (see liveNameTx), not as
// they were when the sessions ended: a deletion may have erased them since.
// A failure is logged, as the revocation itself stands.
func (s *Service) recordRevoked(ctx context.Context, userID, why string, n int) {
	if n == 0 || s.audit == nil {
		return
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		name, err := s.liveNameTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, audit.Entry{ActorID: audit.ActorSystem, Action: audit.SessionsRevoked,
			SubjectID: userID, SubjectName: name, Detail: fmt.Sprintf("%s: %d sessions ended", why, n)})
	})
	if err != nil {
		s.log.ErrorContext(ctx, "provision: audit", "action", audit.SessionsRevoked, "user", userID, "error", err)
	}
}

// liveNameTx returns, in tx, the name (else the email) user_sync holds for
// userID, or "" for a deleted person, for an audit entry written in tx.
// A name read before a Permit call may have been erased by the time the
// entry is written: the deletion erases the trail (audit.EraseTx) in its
// own transaction, and an entry committed after that would name the person
// again. The row is locked, so on PostgreSQL a deletion under way is
// waited for, and one that comes later waits for tx and then erases its
// entry.
func (s *Service) liveNameTx(ctx context.Context, tx *sql.Tx, userID string) (string, error) {
	var name, email string
	err := tx.QueryRowContext(ctx, `SELECT name, email FROM user_sync WHERE user_id = $1 AND deleted_at IS NULL`+
		s.db.Dialect.ForUpdate(), userID).Scan(&name, &email)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read name: %w", err)
	}
	return cmp.Or(name, email), nil
}

// finish records the result and completes the job in one transaction, but
// only if no event changed the user since the job read the row. Otherwise
// an Ingest has bumped the generation and found this job still running (so
// it inserted none); the job snoozes and runs again with the new data.
// Completing inside the transaction closes the gap where the row says
// "synced" but the job still looks live to a concurrent Ingest.
//
// grant, when the job has just assigned the default role, is recorded (the
// timestamp and its audit entry) in the same transaction, and committed
// even when the job snoozes: the grant has happened whatever becomes of
// this attempt. One commit per job rather than three is what lets the
// workers keep up with a burst of sign-ups without crowding out ingest.
func (s *Service) finish(ctx context.Context, job *river.Job[syncArgs], generation int64, state string, grant *audit.Entry) error {
	now := s.now().UnixMilli()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, job, fmt.Errorf("finish: %w", err))
	}
	defer tx.Rollback()
	if grant != nil {
		// One statement stamps the grant and reads, from the row it locks,
		// the name the entry gives: none for a person deleted meanwhile.
		var name, email string
		var deleted sql.NullInt64
		err := tx.QueryRowContext(ctx, `UPDATE user_sync SET default_role_granted_at = COALESCE(default_role_granted_at, $2)
			WHERE user_id = $1 RETURNING name, email, deleted_at`, job.Args.UserID, now).Scan(&name, &email, &deleted)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			tx.Rollback()
			return s.fail(ctx, job, fmt.Errorf("record grant: %w", err))
		}
		grant.SubjectName = ""
		if err == nil && !deleted.Valid {
			grant.SubjectName = cmp.Or(name, email)
		}
		if s.audit != nil {
			if err := s.audit.RecordTx(ctx, tx, *grant); err != nil {
				tx.Rollback()
				return s.fail(ctx, job, fmt.Errorf("audit grant: %w", err))
			}
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE user_sync SET state = $2, synced_at = $3, last_error = '',
		attempts = 0, updated_at = $3 WHERE user_id = $1 AND generation = $4`,
		job.Args.UserID, state, now, generation)
	if err != nil {
		tx.Rollback()
		return s.fail(ctx, job, fmt.Errorf("finish: %w", err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if grant != nil {
			if err := tx.Commit(); err != nil {
				return s.fail(ctx, job, fmt.Errorf("record grant: %w", err))
			}
		}
		return river.JobSnooze(0)
	}
	if err := s.completeTx(ctx, tx, job); err != nil {
		tx.Rollback()
		return s.fail(ctx, job, fmt.Errorf("complete job: %w", err))
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, job, fmt.Errorf("finish: %w", err))
	}
	return nil
}

// fail records the error on the user and returns it, so River retries the
// job with backoff (or discards it after MaxAttempts; it then stays
// visible in Overview until RetryJob).
func (s *Service) fail(ctx context.Context, job *river.Job[syncArgs], cause error) error {
	err := fmt.Errorf("sync user %s (attempt %d/%d): %w", job.Args.UserID, job.Attempt, job.MaxAttempts, cause)
	// The job's context may be what failed; the record must still land.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, dbErr := s.db.ExecContext(wctx, `UPDATE user_sync SET state = 'failed', last_error = $2, attempts = $3,
		updated_at = $4 WHERE user_id = $1`, job.Args.UserID, cause.Error(), job.Attempt, s.now().UnixMilli()); dbErr != nil {
		s.log.ErrorContext(ctx, "provision: record failure", "user", job.Args.UserID, "error", dbErr)
	}
	s.log.WarnContext(ctx, "provision: sync failed", "user", job.Args.UserID, "attempt", job.Attempt, "error", cause)
	return err
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
