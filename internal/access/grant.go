package access

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"reportgate/internal/audit"
)

// GrantArgs is the job that grants an approved request's role in Permit.
type GrantArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind is the River job kind.
func (GrantArgs) Kind() string { return "grant_access" }

// Permit assigns roles (permitdir.Client). AssignRole must treat "already
// assigned" as success: a retried job assigns again.
type Permit interface {
	AssignRole(ctx context.Context, key, role string) error
}

// GrantWorker runs GrantArgs jobs. It only ever adds the role: it never
// removes one the person holds.
type GrantWorker struct {
	river.WorkerDefaults[GrantArgs]
	Service *Service
	Permit  Permit
	// CallTimeout bounds the Permit call.
	CallTimeout time.Duration
	// OnGranted runs after the grant is recorded, to forget the person's
	// cached decisions on every replica.
	OnGranted func(ctx context.Context, userID string)
}

// Work assigns the role, then records the outcome: the request becomes
// approved (or failed, once out of attempts) with its audit entry in the
// same transaction. A job that finds the request no longer approving was
// finished by an earlier attempt.
func (w *GrantWorker) Work(ctx context.Context, job *river.Job[GrantArgs]) error {
	s := w.Service
	r, err := s.Get(ctx, job.Args.RequestID)
	if err != nil {
		return err
	}
	if r.State != StateApproving {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, w.CallTimeout)
	err = w.Permit.AssignRole(cctx, r.UserID, r.Role)
	cancel()
	if err != nil {
		err = fmt.Errorf("grant %s to %s (attempt %d/%d): %w", r.Role, r.UserID, job.Attempt, job.MaxAttempts, err)
		if job.Attempt < job.MaxAttempts {
			return err
		}
		// Out of attempts: the request says so, and so does the trail.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if recErr := s.finishGrant(wctx, r, StateFailed, audit.RequestFailed, err.Error()); recErr != nil {
			return fmt.Errorf("%w; record failure: %w", err, recErr)
		}
		return err
	}
	if err := s.finishGrant(ctx, r, StateApproved, audit.RoleGranted, "approved request"); err != nil {
		return err
	}
	if w.OnGranted != nil {
		w.OnGranted(ctx, r.UserID)
	}
	return nil
}

func (s *Service) finishGrant(ctx context.Context, r Request, state, action, detail string) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE access_requests SET state = $2, decided_at = $3 WHERE id = $1 AND state = 'approving'`,
			r.ID, state, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("record grant: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return nil // recorded by another attempt
		}
		return s.trail.RecordTx(ctx, tx, audit.Entry{At: now, ActorID: r.DecidedBy, ActorName: r.DecidedByName,
			Action: action, SubjectID: r.UserID, SubjectName: requester(r).Label(), Role: r.Role,
			Permission: r.Permission, Detail: detail, RequestID: r.ID})
	})
}
