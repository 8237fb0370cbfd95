package database

import (
	"context"
	"database/sql"
	"fmt"
)

// ForUpdate is the row-lock suffix for a read that precedes a write in the
// same transaction. SQLite has no row locks and needs none: its
// transactions begin IMMEDIATE (see Open), so writers are serialised.
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// LockTx takes the lock called name for the rest of tx, so that what tx
// checks and then writes sees no other holder's change in between, on any
// replica. PostgreSQL takes a transaction-scoped advisory lock keyed
// together with the schema: advisory locks are database-wide, and apps in
// two schemas must not wait for each other. SQLite needs nothing, since
// its transactions begin IMMEDIATE and so already exclude every other
// writer.
func (db *DB) LockTx(ctx context.Context, tx *sql.Tx, name string) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext($1))`, name); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}
