package provision

import (
	"context"
	"fmt"

	"reportgate/internal/database"
)

// lockPerson takes the per-person lock a job holds while it works, so two
// live workers never sync one person at once, even when River has rescued
// a job whose first worker is still running (a call that outlived its
// deadline, a paused process). ok is false when another worker holds it.
//
// PostgreSQL: a transaction-scoped advisory lock, keyed by schema and user
// id, held on a connection of its own for the job's duration; it never
// blocks Ingest (no row is locked) and is released by the server when the
// holder's connection dies, so a killed process leaves nothing behind.
// unlock must be called when the job returns.
// SQLite: no lock. Its single connection cannot be held for a whole job
// (the job's own statements need it), and one process per SQLite file is
// the supported set-up; within a process River's unique job per user
// already keeps syncs of one person apart.
func (s *Service) lockPerson(ctx context.Context, userID string) (unlock func(), ok bool, err error) {
	if s.db.Dialect != database.Postgres {
		return func() {}, true, nil
	}
	// Not ctx: database/sql ends a transaction when its context does, and
	// the lock must outlive the job's timeout for as long as the worker is
	// still inside the job (a call that ignores its deadline).
	tx, err := s.db.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return nil, false, fmt.Errorf("lock person: %w", err)
	}
	if err := tx.QueryRowContext(ctx,
		`SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), hashtext($1))`, userID).Scan(&ok); err != nil {
		tx.Rollback()
		return nil, false, fmt.Errorf("lock person: %w", err)
	}
	if !ok {
		tx.Rollback()
		return nil, false, nil
	}
	return func() { tx.Rollback() }, true, nil
}
