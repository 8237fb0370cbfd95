package people

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"reportgate/internal/database"
)

// Person is a person as reportgate knows them, keyed by their Logto user
// id; the local record stores exactly this.
type Person struct {
	ID    string
	Email string
	Name  string
	// RegisteredAt is Logto's created_at when known, else FirstSeenAt. A
	// later Upsert that knows created_at replaces the estimate once.
	RegisteredAt time.Time
	FirstSeenAt  time.Time
	// Roles is the last role snapshot (sorted role keys); RolesCheckedAt is
	// when it was learnt, zero if never.
	Roles          []string
	RolesCheckedAt time.Time
}

// Store stores Person records and keeps the signup_days aggregate in step.
type Store struct {
	db  *database.DB
	now func() time.Time
	// signupsChanged, when set, runs after a committed write that changed
	// the sign-up counts (a person added, removed, or moved to another day
	// or role bucket).
	signupsChanged func()
}

// NewStore returns a Store over db; now (time.Now when nil) stamps
// first-seen and update times.
func NewStore(db *database.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// OnSignupsChange returns a Store over the same database that calls f after
// every committed write that changed the sign-up counts, so a cached report
// can be dropped the moment a new person is recorded.
func (s *Store) OnSignupsChange(f func()) *Store {
	c := *s
	c.signupsChanged = f
	return &c
}

// countsChanged tells the hook, if any, that the sign-up counts moved.
func (s *Store) countsChanged(moved bool) {
	if moved && s.signupsChanged != nil {
		s.signupsChanged()
	}
}

// record is a stored row: the Person plus bookkeeping the API does not expose.
type record struct {
	Person
	registeredKnown bool
	updatedAt       time.Time
}

// key is the signup_days cell this person is counted in.
func (r *record) key() bucketKey {
	return bucketKey{day: dayNumber(r.RegisteredAt), role: Bucket(r.Roles)}
}

// RecordSignIn creates or refreshes the record of a person who just signed
// in. See Upsert for how fields merge.
func (s *Store) RecordSignIn(ctx context.Context, u Person) error {
	return errorf(s.upsert(ctx, u), "record sign-in %s", u.ID)
}

// Upsert creates or refreshes a record from Logto data (webhooks, backfill):
//   - Email and Name are replaced.
//   - FirstSeenAt is kept from the first record (u.FirstSeenAt, or now when
//     zero, on creation).
//   - RegisteredAt is kept from the first record, except that a known value
//     (non-zero u.RegisteredAt) replaces the first-seen estimate used while
//     it was unknown.
//   - Roles are taken only when u.RolesCheckedAt is set and not older than
//     the stored snapshot, so a stale webhook cannot undo a fresher check.
func (s *Store) Upsert(ctx context.Context, u Person) error {
	return errorf(s.upsert(ctx, u), "upsert user %s", u.ID)
}

func (s *Store) upsert(ctx context.Context, u Person) error {
	if u.ID == "" {
		return errors.New("empty user id")
	}
	return s.apply(ctx, u.ID, upsertChange(u, truncMillis(s.now())))
}

// upsertChange is the change Upsert makes: u's first record, or u merged
// into the one there is, as of now.
func upsertChange(u Person, now time.Time) change {
	return func(old *record) (*record, error) {
		if old == nil {
			return newRecord(u, now), nil
		}
		return mergeRecord(*old, u, now), nil
	}
}

// newRecord is the first record of u as of now.
func newRecord(u Person, now time.Time) *record {
	r := &record{Person: u, updatedAt: now}
	r.FirstSeenAt = truncMillis(u.FirstSeenAt)
	if r.FirstSeenAt.IsZero() {
		r.FirstSeenAt = now
	}
	r.RegisteredAt = truncMillis(u.RegisteredAt)
	r.registeredKnown = !r.RegisteredAt.IsZero()
	if !r.registeredKnown {
		r.RegisteredAt = r.FirstSeenAt
	}
	r.Roles, r.RolesCheckedAt = nil, time.Time{}
	if !u.RolesCheckedAt.IsZero() {
		r.Roles, r.RolesCheckedAt = normalizeRoles(u.Roles), truncMillis(u.RolesCheckedAt)
	}
	return r
}

// mergeRecord applies the Upsert rules to a stored record; it returns nil
// when nothing would change.
func mergeRecord(old record, u Person, now time.Time) *record {
	next := old
	next.Email, next.Name = u.Email, u.Name
	if !old.registeredKnown && !u.RegisteredAt.IsZero() {
		next.RegisteredAt, next.registeredKnown = truncMillis(u.RegisteredAt), true
	}
	if !u.RolesCheckedAt.IsZero() && !u.RolesCheckedAt.Before(old.RolesCheckedAt) {
		next.Roles, next.RolesCheckedAt = normalizeRoles(u.Roles), truncMillis(u.RolesCheckedAt)
	}
	if sameRecord(old, next) {
		return nil
	}
	next.updatedAt = now
	return &next
}

// SetRoles stores the role snapshot a permission check or a sync learnt.
// When it equals the stored one nothing is written, not even
// RolesCheckedAt: checks run on every request and must not turn into a
// write each (RolesCheckedAt is set on the first snapshot and on changes).
func (s *Store) SetRoles(ctx context.Context, id string, roles []string) error {
	return errorf(s.apply(ctx, id, s.setRoles(roles)), "set roles of user %s", id)
}

// setRoles is the change SetRoles makes.
func (s *Store) setRoles(roles []string) change {
	roles = normalizeRoles(roles)
	now := truncMillis(s.now())
	return func(old *record) (*record, error) {
		if old == nil {
			return nil, ErrNotFound
		}
		if !old.RolesCheckedAt.IsZero() && slices.Equal(old.Roles, roles) {
			return nil, nil
		}
		next := *old
		next.Roles, next.RolesCheckedAt, next.updatedAt = roles, now, now
		return &next, nil
	}
}

// Get returns the record of id, or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Person, error) {
	r, err := s.load(ctx, s.db, id, false)
	if err == nil && r == nil {
		err = ErrNotFound
	}
	if err != nil {
		return Person{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return r.Person, nil
}

// MaxListLimit caps one page of List.
const MaxListLimit = 1000

// List returns a page of records, most recently registered first (ties by
// id), served by the users_registered_at index. limit is capped at
// MaxListLimit.
func (s *Store) List(ctx context.Context, limit, offset int) ([]Person, error) {
	users, err := s.page(ctx, "", nil, limit, offset)
	return users, errorf(err, "list users")
}

// Find returns a page of the records whose name or email contains search,
// ignoring case ("" matches everyone), in List's order, and how many match
// in all. limit is capped at MaxListLimit.
func (s *Store) Find(ctx context.Context, search string, limit, offset int) ([]Person, int, error) {
	where, args := "", []any{}
	if search != "" {
		where = ` WHERE lower(name) LIKE $1 ESCAPE '\' OR lower(email) LIKE $1 ESCAPE '\'`
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(search))+"%")
	}
	users, err := s.page(ctx, where, args, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("find users: %w", err)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("find users: %w", err)
	}
	return users, total, nil
}

// page is one page of the records that where (with its args, $1 on)
// selects, most recently registered first (ties by id), served by the
// users_registered_at index.
func (s *Store) page(ctx context.Context, where string, args []any, limit, offset int) ([]Person, error) {
	if limit < 1 || offset < 0 {
		return nil, fmt.Errorf("bad page limit=%d offset=%d", limit, offset)
	}
	n := len(args)
	return s.query(ctx, selectUser+where+fmt.Sprintf(` ORDER BY registered_at DESC, id DESC LIMIT $%d OFFSET $%d`, n+1, n+2),
		append(args, min(limit, MaxListLimit), offset)...)
}

// likeEscaper makes a search term match literally in a LIKE … ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Names returns the records of the given ids that exist, by id, in one
// query.
func (s *Store) Names(ctx context.Context, ids []string) (map[string]Person, error) {
	out := make(map[string]Person, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	users, err := s.query(ctx, selectUser+` WHERE id IN (`+database.Placeholders(1, len(ids))+`)`, anySlice(ids)...)
	if err != nil {
		return nil, fmt.Errorf("names of users: %w", err)
	}
	for _, u := range users {
		out[u.ID] = u
	}
	return out, nil
}

// query runs a selectUser query and returns its records.
func (s *Store) query(ctx context.Context, query string, args ...any) ([]Person, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []Person
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, r.Person)
	}
	return users, rows.Err()
}

// Delete erases the record of id (the person's personal data) and removes
// them from the sign-up counts. Deleting an absent record is not an error,
// so an erasure request can be retried safely.
func (s *Store) Delete(ctx context.Context, id string) error {
	deleted := false
	err := s.db.InTx(ctx, func(tx *sql.Tx) (err error) {
		deleted, err = deleteRecord(ctx, tx, id)
		return err
	})
	s.countsChanged(err == nil && deleted)
	return errorf(err, "delete user %s", id)
}

// deleteRecord deletes the record of id, if any, and its sign-up count in
// tx, and reports whether there was one. DELETE … RETURNING reads the row
// it locks, so the count comes off the cell the row was in when deleted,
// even under a concurrent role change on PostgreSQL.
func deleteRecord(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM users WHERE id = $1 RETURNING `+userColumns, id)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	old, err := scanRecord(rows)
	if err != nil {
		return false, err
	}
	if err := rows.Close(); err != nil {
		return false, err
	}
	return true, adjustSignups(ctx, tx, old, nil)
}

// change computes the next state of a record from the stored one (nil when
// absent). It returns a nil record to leave things as they are.
type change func(old *record) (*record, error)

// apply runs ch against the stored record of id and writes the result,
// moving the person between signup_days cells in the same transaction.
func (s *Store) apply(ctx context.Context, id string, ch change) error {
	// Most calls (a repeated sign-in, a role check that learns nothing new,
	// roles for an unknown id) change nothing; find that out with a plain
	// read, because on SQLite a write transaction blocks every other writer
	// from its first statement. The transaction below decides again under
	// the lock, so a race here only costs the fast path.
	old, err := s.load(ctx, s.db, id, false)
	if err != nil {
		return err
	}
	if next, err := ch(old); err != nil || next == nil {
		return err
	}
	moved := false
	err = s.db.InTx(ctx, func(tx *sql.Tx) (err error) {
		moved, err = s.applyTx(ctx, tx, id, ch)
		return err
	})
	s.countsChanged(err == nil && moved)
	return err
}

// UpsertMany is Upsert for many people in one transaction (an import, the
// dev seed): one commit instead of one per person.
func (s *Store) UpsertMany(ctx context.Context, users []Person) error {
	now := truncMillis(s.now())
	moved := false
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, u := range users {
			if u.ID == "" {
				return errors.New("empty user id")
			}
			m, err := s.applyTx(ctx, tx, u.ID, upsertChange(u, now))
			if err != nil {
				return errorf(err, "upsert user %s", u.ID)
			}
			moved = moved || m
		}
		return nil
	})
	s.countsChanged(err == nil && moved)
	return errorf(err, "upsert %d users", len(users))
}

// applyTx is apply's write inside the transaction tx. moved says whether
// the person's sign-up cell changed (or they were added).
func (s *Store) applyTx(ctx context.Context, tx *sql.Tx, id string, ch change) (moved bool, err error) {
	// On PostgreSQL a concurrent transaction can create (and even delete
	// again) the record between our read and our insert; the insert then
	// does nothing, and since each statement sees the latest commits we
	// simply look again. SQLite serialises writers, so it never loops.
	for range maxApplyAttempts {
		old, err := s.load(ctx, tx, id, true)
		if err != nil {
			return false, err
		}
		if deleted, err := s.tombstoned(ctx, tx, id); err != nil || deleted {
			return false, err
		}
		next, err := ch(old)
		if err != nil || next == nil {
			return false, err
		}
		if old != nil {
			if err := updateRecord(ctx, tx, next); err != nil {
				return false, err
			}
			return old.key() != next.key(), adjustSignups(ctx, tx, old, next)
		}
		inserted, err := insertRecord(ctx, tx, next)
		if err != nil {
			return false, err
		}
		if inserted {
			return true, adjustSignups(ctx, tx, nil, next)
		}
	}
	return false, fmt.Errorf("record kept changing under concurrent writes (%d attempts)", maxApplyAttempts)
}

// tombstoned reports whether the sync holds a User.Deleted tombstone for
// id, so that no write brings back the record its deletion erased: a sync
// job that finished just before the deletion still calls UserChanged
// after it. Read after the record's row lock (applyTx), it needs no lock
// of its own: the deletion writes its tombstone before it deletes the
// record, so it has either committed, and the tombstone is seen, or it
// waits on our lock and deletes what we wrote. Locking user_sync here
// instead would hold up webhook ingest of the person for as long as the
// writer's transaction lasts (a role change spans Permit calls). A person
// with no record yet leaves nothing to lock.
func (s *Store) tombstoned(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	var deletedAt sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT deleted_at FROM user_sync WHERE user_id = $1`, id).Scan(&deletedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read tombstone: %w", err)
	}
	return deletedAt.Valid, nil
}

// maxApplyAttempts bounds apply's read-insert loop under contention.
const maxApplyAttempts = 5

const (
	userColumns = `id, email, name, registered_at, registered_at_known, first_seen_at, roles, roles_checked_at, updated_at`
	selectUser  = `SELECT ` + userColumns + ` FROM users`
)

// load reads the record of id, or nil when there is none; lock takes a row
// lock for a write that follows in the same transaction.
func (s *Store) load(ctx context.Context, q queryer, id string, lock bool) (*record, error) {
	query := selectUser + ` WHERE id = $1`
	if lock {
		query += s.db.Dialect.ForUpdate()
	}
	rows, err := q.QueryContext(ctx, query, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	return scanRecord(rows)
}

func scanRecord(rows *sql.Rows) (*record, error) {
	var (
		r                                              record
		registered, known, firstSeen, checked, updated int64
		roles                                          string
	)
	if err := rows.Scan(&r.ID, &r.Email, &r.Name, &registered, &known, &firstSeen, &roles, &checked, &updated); err != nil {
		return nil, err
	}
	var err error
	if r.Roles, err = decodeRoles(roles); err != nil {
		return nil, err
	}
	r.RegisteredAt, r.registeredKnown = fromMillis(registered), known != 0
	r.FirstSeenAt, r.RolesCheckedAt, r.updatedAt = fromMillis(firstSeen), fromMillis(checked), fromMillis(updated)
	return &r, nil
}

// insertRecord inserts r unless a record with its id exists already; it
// reports whether it inserted.
func insertRecord(ctx context.Context, tx *sql.Tx, r *record) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO users
		(id, email, name, registered_at, registered_at_known, first_seen_at, roles, roles_checked_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Email, r.Name, toMillis(r.RegisteredAt), boolInt(r.registeredKnown), toMillis(r.FirstSeenAt),
		encodeRoles(r.Roles), toMillis(r.RolesCheckedAt), toMillis(r.updatedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func updateRecord(ctx context.Context, tx *sql.Tx, r *record) error {
	_, err := tx.ExecContext(ctx, `UPDATE users SET
		email = $2, name = $3, registered_at = $4, registered_at_known = $5,
		roles = $6, roles_checked_at = $7, updated_at = $8
		WHERE id = $1`,
		r.ID, r.Email, r.Name, toMillis(r.RegisteredAt), boolInt(r.registeredKnown),
		encodeRoles(r.Roles), toMillis(r.RolesCheckedAt), toMillis(r.updatedAt))
	return err
}

// sameRecord reports whether a and b would store the same row, ignoring
// updated_at.
func sameRecord(a, b record) bool {
	return a.ID == b.ID && a.Email == b.Email && a.Name == b.Name &&
		a.RegisteredAt.Equal(b.RegisteredAt) && a.registeredKnown == b.registeredKnown &&
		a.FirstSeenAt.Equal(b.FirstSeenAt) && slices.Equal(a.Roles, b.Roles) &&
		a.RolesCheckedAt.Equal(b.RolesCheckedAt)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// truncMillis drops what the millisecond columns cannot hold, so values
// compare equal before and after a round trip, and normalises to UTC.
func truncMillis(t time.Time) time.Time {
	return fromMillis(toMillis(t))
}
