package access

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
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

// finishGrant records the outcome of the Permit call for request r. The
// names in the audit entry are read again here, from the row this
// transaction changes, not taken from r: r was read before the call, and a
// deletion in between has erased the person (EraseTx, audit.EraseTx); an
// entry written with r's names would name them again. An erased person is
// left unnamed (not named by id, as Label would).
func (s *Service) finishGrant(ctx context.Context, r Request, state, action, detail string) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var name, email, deciderName string
		err := tx.QueryRowContext(ctx, `UPDATE access_requests SET state = $2, decided_at = $3
			WHERE id = $1 AND state = 'approving' RETURNING user_name, user_email, decided_by_name`,
			r.ID, state, now.UnixMilli()).Scan(&name, &email, &deciderName)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // recorded by another attempt
		}
		if err != nil {
			return fmt.Errorf("record grant: %w", err)
		}
		return s.trail.RecordTx(ctx, tx, audit.Entry{At: now, ActorID: r.DecidedBy, ActorName: deciderName,
			Action: action, SubjectID: r.UserID, SubjectName: cmp.Or(name, email), Role: r.Role,
			Permission: r.Permission, Detail: detail, RequestID: r.ID})
	})
}
