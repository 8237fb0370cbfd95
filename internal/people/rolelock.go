package people

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// roleLockName names the lock (database.DB.LockTx) that serialises role
// changes across replicas.
const roleLockName = "reportgate role change"

// RoleTx is a role change in progress under the role lock: its reads see
// every role change committed before it, and none commits until it ends.
type RoleTx struct {
	users *Store
	tx    *sql.Tx
	moved bool // a SetRoles moved someone to another sign-up bucket
}

// WithRoleLock runs fn holding the role lock, so that a check such as "is
// this the last admin?" and the change it guards happen with no other role
// change in between, on any replica. PostgreSQL takes a transaction-scoped
// advisory lock; SQLite's transactions begin IMMEDIATE, so holding one
// already excludes every other writer. The lock ends with fn, whose writes
// through the RoleTx commit only when it returns nil. fn must use the
// database only through the RoleTx (SQLite has one connection, which the
// transaction holds).
func (s *Store) WithRoleLock(ctx context.Context, fn func(*RoleTx) error) error {
	rt := &RoleTx{users: s}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.db.LockTx(ctx, tx, roleLockName); err != nil {
			return err
		}
		rt.tx = tx
		return fn(rt)
	})
	s.countsChanged(err == nil && rt.moved)
	return err
}

// Holders counts the people other than except whose role snapshot holds
// role.
func (t *RoleTx) Holders(ctx context.Context, role, except string) (int, error) {
	quoted, err := json.Marshal(role)
	if err != nil {
		return 0, fmt.Errorf("holders of %s: %w", role, err)
	}
	// The snapshot is a JSON array of keys, so the quoted key matches that
	// key exactly and no other.
	var n int
	err = t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id <> $1 AND roles LIKE $2 ESCAPE '\'`,
		except, "%"+likeEscaper.Replace(string(quoted))+"%").Scan(&n)
	return n, errorf(err, "holders of %s", role)
}

// SetRoles is Store.SetRoles inside the role change.
func (t *RoleTx) SetRoles(ctx context.Context, id string, roles []string) error {
	moved, err := t.users.applyTx(ctx, t.tx, id, t.users.setRoles(roles))
	t.moved = t.moved || moved
	return errorf(err, "set roles of user %s", id)
}
