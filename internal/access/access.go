// Package access holds access requests: a signed-in person asks for a
// permission they were denied, an admin approves (a River job then grants
// the role in Permit) or declines. Every change writes its audit entry in
// the same transaction.
package access

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/audit"
	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/fault"
	"reportgate/internal/policy"
)

// Request states.
const (
	StateOpen      = "open"
	StateApproving = "approving" // claimed by an admin; the grant job is queued
	StateApproved  = "approved"
	StateDeclined  = "declined"
	StateWithdrawn = "withdrawn"
	StateFailed    = "failed" // the grant job gave up
)

// Limits.
const (
	MaxReason = 500 // characters, after trimming
	// MaxPerDay is how many new requests a person may open in any rolling
	// 24 h; AskAgainAfter is how long after a decline they may ask again.
	MaxPerDay     = 5
	Day           = 24 * time.Hour
	AskAgainAfter = Day
)

// DefaultRequestable are the permissions people may ask for by default:
// the REPORTGATE_REQUESTABLE_PERMISSIONS default.
func DefaultRequestable() []string {
	return strings.Split(config.DefaultRequestablePermissions, ",")
}

var (
	ErrNotRequestable = fmt.Errorf("%w: this permission cannot be requested", fault.Invalid)
	ErrReasonTooLong  = fmt.Errorf("%w: the reason is longer than %d characters", fault.Invalid, MaxReason)
	ErrRateLimited    = fmt.Errorf("%w: more than %d access requests in 24 hours", fault.RateLimited, MaxPerDay)
	ErrTooSoon        = fmt.Errorf("%w: declined less than 24 hours ago", fault.RateLimited)
	ErrNotOpen        = fmt.Errorf("%w: the request is no longer open", fault.Conflict)
	ErrNotFound       = fmt.Errorf("%w: no such access request", fault.NotFound)
	ErrWrongRole      = fmt.Errorf("%w: the role does not grant the requested permission", fault.Invalid)
)

// Person is who acts or asks.
type Person struct {
	ID, Name, Email string
}

// Label is how the trail names p: name, else email, else id.
func (p Person) Label() string {
	switch {
	case p.Name != "":
		return p.Name
	case p.Email != "":
		return p.Email
	}
	return p.ID
}

// Request is one access request.
type Request struct {
	ID         int64
	UserID     string
	UserName   string
	UserEmail  string
	Permission string
	Reason     string
	State      string
	Role       string // the role granted (approving, approved, failed)
	Note       string // the admin's note on a decline
	DecidedBy  string
	// DecidedByName is the deciding admin's name (or email), kept for the
	// grant's audit entry.
	DecidedByName string
	CreatedAt     time.Time
	DecidedAt     time.Time
}

// Jobs enqueues River jobs in a transaction (river.Client).
type Jobs interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Config configures a Service.
type Config struct {
	DB          *database.DB
	Trail       *audit.Trail
	Policy      policy.Policy
	Requestable []string // nil → DefaultRequestable
	Jobs        Jobs
	// Grace is how long after a grant the person is told their access is
	// being set up rather than denied (Permit's PDP catches up).
	Grace time.Duration
	Now   func() time.Time
}

// Service opens, lists and decides access requests.
type Service struct {
	db          *database.DB
	trail       *audit.Trail
	policy      policy.Policy
	requestable []string
	jobs        Jobs
	grace       time.Duration
	now         func() time.Time
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, trail: cfg.Trail, policy: cfg.Policy, requestable: cfg.Requestable,
		jobs: cfg.Jobs, grace: cfg.Grace, now: cfg.Now}
	if s.requestable == nil {
		s.requestable = DefaultRequestable()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Requestable reports whether people may ask for permission: the policy
// defines it and it is in the requestable list.
func (s *Service) Requestable(permission string) bool {
	if !slices.Contains(s.requestable, permission) {
		return false
	}
	resource, action, ok := strings.Cut(permission, ":")
	if !ok {
		return false
	}
	r, ok := s.policy.Resource(resource)
	return ok && slices.Contains(r.Actions, action)
}

// Suggest is the least-privileged policy role that grants permission: the
// one granting the fewest permissions ("" when none does).
func (s *Service) Suggest(permission string) string {
	best, fewest := "", 0
	for _, r := range s.policy.Roles {
		perms := s.policy.Permissions(r.Key)
		if slices.Contains(perms, permission) && (best == "" || len(perms) < fewest) {
			best, fewest = r.Key, len(perms)
		}
	}
	return best
}

// Grants reports whether role grants permission.
func (s *Service) Grants(role, permission string) bool {
	return slices.Contains(s.policy.Permissions(role), permission)
}

const columns = `id, user_id, user_name, user_email, permission, reason, state, role, note, decided_by, decided_by_name, created_at, decided_at`

type scanner interface{ Scan(dest ...any) error }

func scan(row scanner) (Request, error) {
	var r Request
	var created int64
	var decided sql.NullInt64
	err := row.Scan(&r.ID, &r.UserID, &r.UserName, &r.UserEmail, &r.Permission, &r.Reason, &r.State, &r.Role,
		&r.Note, &r.DecidedBy, &r.DecidedByName, &created, &decided)
	r.CreatedAt = time.UnixMilli(created).UTC()
	if decided.Valid {
		r.DecidedAt = time.UnixMilli(decided.Int64).UTC()
	}
	return r, err
}

// Open opens a request by who for permission, or returns their open one
// for it (created false): asking again is not a duplicate and does not
// count toward the limit.
func (s *Service) Open(ctx context.Context, who Person, permission, reason string) (Request, bool, error) {
	if !s.Requestable(permission) {
		return Request{}, false, ErrNotRequestable
	}
	reason, err := cleanText(reason)
	if err != nil {
		return Request{}, false, err
	}
	var req Request
	var created bool
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		// One person's requests are decided one at a time, so two at once
		// can neither both pass the limit nor both open.
		if err := s.db.LockTx(ctx, tx, "access request "+who.ID); err != nil {
			return err
		}
		existing, err := scan(tx.QueryRowContext(ctx, latestQuery, who.ID, permission))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("find request: %w", err)
		case existing.State == StateOpen:
			req = existing
			return nil
		case existing.State == StateDeclined && s.now().Sub(existing.DecidedAt) < AskAgainAfter:
			return ErrTooSoon
		}
		now := s.now()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_requests WHERE user_id = $1 AND created_at > $2`,
			who.ID, now.Add(-Day).UnixMilli()).Scan(&n); err != nil {
			return fmt.Errorf("count requests: %w", err)
		}
		if n >= MaxPerDay {
			return ErrRateLimited
		}
		req = Request{UserID: who.ID, UserName: who.Name, UserEmail: who.Email, Permission: permission,
			Reason: reason, State: StateOpen, CreatedAt: time.UnixMilli(now.UnixMilli()).UTC()}
		if err := tx.QueryRowContext(ctx, `INSERT INTO access_requests (user_id, user_name, user_email, permission,
			reason, state, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6) RETURNING id`,
			who.ID, who.Name, who.Email, permission, reason, now.UnixMilli()).Scan(&req.ID); err != nil {
			return fmt.Errorf("open request: %w", err)
		}
		created = true
		return s.trail.RecordTx(ctx, tx, audit.Entry{At: now, ActorID: who.ID, ActorName: who.Label(),
			Action: audit.RequestOpened, SubjectID: who.ID, SubjectName: who.Label(), Permission: permission,
			Detail: reason, RequestID: req.ID})
	})
	if err != nil {
		return Request{}, false, err
	}
	return req, created, nil
}

// Withdraw ends who's open request id.
func (s *Service) Withdraw(ctx context.Context, who Person, id int64) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var permission string
		err := tx.QueryRowContext(ctx, `UPDATE access_requests SET state = 'withdrawn', decided_by = $2, decided_at = $3
			WHERE id = $1 AND user_id = $2 AND state = 'open' RETURNING permission`, id, who.ID, now.UnixMilli()).Scan(&permission)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotOpen
		}
		if err != nil {
			return fmt.Errorf("withdraw request: %w", err)
		}
		return s.trail.RecordTx(ctx, tx, audit.Entry{At: now, ActorID: who.ID, ActorName: who.Label(),
			Action: audit.RequestWithdrawn, SubjectID: who.ID, SubjectName: who.Label(), Permission: permission, RequestID: id})
	})
}

// latestQuery reads a person's ($1) most recent request for a permission
// ($2): Open decides from it, Latest shows it.
const latestQuery = `SELECT ` + columns + ` FROM access_requests
	WHERE user_id = $1 AND permission = $2 ORDER BY created_at DESC, id DESC LIMIT 1`

// Latest is userID's most recent request for permission (ok false: none).
func (s *Service) Latest(ctx context.Context, userID, permission string) (Request, bool, error) {
	r, err := scan(s.db.QueryRowContext(ctx, latestQuery, userID, permission))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, false, nil
	}
	if err != nil {
		return Request{}, false, fmt.Errorf("latest request: %w", err)
	}
	return r, true, nil
}

// AskAgainAt is when a person whose request r was declined may ask again.
func AskAgainAt(r Request) time.Time { return r.DecidedAt.Add(AskAgainAfter) }

// StillDeclined reports whether r was declined so recently that its
// requester may not ask again yet.
func (s *Service) StillDeclined(r Request) bool {
	return r.State == StateDeclined && s.now().Before(AskAgainAt(r))
}

// Get returns request id.
func (s *Service) Get(ctx context.Context, id int64) (Request, error) {
	r, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM access_requests WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, ErrNotFound
	}
	if err != nil {
		return Request{}, fmt.Errorf("get request: %w", err)
	}
	return r, nil
}

// List returns the open requests, oldest first, or (decided) the decided
// ones, newest first; at most limit.
func (s *Service) List(ctx context.Context, decided bool, limit int) ([]Request, error) {
	q := `SELECT ` + columns + ` FROM access_requests WHERE state = 'open' ORDER BY created_at, id LIMIT $1`
	if decided {
		q = `SELECT ` + columns + ` FROM access_requests WHERE state <> 'open' ORDER BY created_at DESC, id DESC LIMIT $1`
	}
	rows, err := s.db.QueryContext(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountOpen is the number of open requests, for the admins' nav badge.
func (s *Service) CountOpen(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_requests WHERE state = 'open'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count open requests: %w", err)
	}
	return n, nil
}

// Pending reports whether userID has a grant on its way: a request being
// approved, or approved so recently that the PDP may not have it yet.
func (s *Service) Pending(ctx context.Context, userID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_requests WHERE user_id = $1
		AND (state = 'approving' OR (state = 'approved' AND decided_at > $2))`,
		userID, s.now().Add(-s.grace).UnixMilli()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("pending grants: %w", err)
	}
	return n > 0, nil
}

// claim moves open request id in tx by the assignments set, whose
// arguments from $2 on args gives once check accepted the request;
// ErrNotOpen when it was decided already.
func (s *Service) claim(ctx context.Context, tx *sql.Tx, id int64, check func(Request) error, set string, args func() []any) (Request, error) {
	r, err := scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM access_requests WHERE id = $1`+s.db.Dialect.ForUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("claim request: %w", err)
	}
	if r.State != StateOpen {
		return r, ErrNotOpen
	}
	if err := check(r); err != nil {
		return r, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE access_requests SET `+set+` WHERE id = $1 AND state = 'open'`, append([]any{id}, args()...)...)
	if err != nil {
		return r, fmt.Errorf("claim request: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return r, ErrNotOpen
	}
	return r, nil
}

// Approve claims open request id for admin: in one transaction it moves to
// approving, the approval is audited and the grant job is queued. role ""
// is the suggested one; a role that does not grant the permission is
// ErrWrongRole.
func (s *Service) Approve(ctx context.Context, admin Person, id int64, role string) (Request, error) {
	var req Request
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		r, err := s.claim(ctx, tx, id, func(r Request) error {
			if role == "" {
				role = s.Suggest(r.Permission)
			}
			if role == "" || !s.Grants(role, r.Permission) {
				return ErrWrongRole
			}
			return nil
		}, `state = 'approving', role = $2, decided_by = $3, decided_by_name = $4, decided_at = $5`,
			func() []any { return []any{role, admin.ID, admin.Label(), now.UnixMilli()} })
		if err != nil {
			return err
		}
		req = r
		req.State, req.Role, req.DecidedBy, req.DecidedByName, req.DecidedAt = StateApproving, role, admin.ID, admin.Label(), now
		if err := s.trail.RecordTx(ctx, tx, audit.Entry{At: now, ActorID: admin.ID, ActorName: admin.Label(),
			Action: audit.RequestApproved, SubjectID: r.UserID, SubjectName: requester(r).Label(), Role: role,
			Permission: r.Permission, RequestID: id}); err != nil {
			return err
		}
		if _, err := s.jobs.InsertTx(ctx, tx, GrantArgs{RequestID: id}, nil); err != nil {
			return fmt.Errorf("enqueue grant: %w", err)
		}
		return nil
	})
	return req, err
}

// Deny declines open request id with the admin's note.
func (s *Service) Deny(ctx context.Context, admin Person, id int64, note string) (Request, error) {
	note, err := cleanText(note)
	if err != nil {
		return Request{}, err
	}
	var req Request
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		r, err := s.claim(ctx, tx, id, func(Request) error { return nil },
			`state = 'declined', note = $2, decided_by = $3, decided_by_name = $4, decided_at = $5`,
			func() []any { return []any{note, admin.ID, admin.Label(), now.UnixMilli()} })
		if err != nil {
			return err
		}
		req = r
		req.State, req.Note, req.DecidedBy, req.DecidedByName, req.DecidedAt = StateDeclined, note, admin.ID, admin.Label(), now
		return s.trail.RecordTx(ctx, tx, audit.Entry{At: now, ActorID: admin.ID, ActorName: admin.Label(),
			Action: audit.RequestDeclined, SubjectID: r.UserID, SubjectName: requester(r).Label(),
			Permission: r.Permission, Detail: note, RequestID: id})
	})
	return req, err
}

// cleanText is a requester's reason or an admin's note as stored: valid
// UTF-8 without NUL bytes, trimmed; ErrReasonTooLong past MaxReason.
func cleanText(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", ""))
	if utf8.RuneCountInString(s) > MaxReason {
		return "", ErrReasonTooLong
	}
	return s, nil
}

func requester(r Request) Person { return Person{ID: r.UserID, Name: r.UserName, Email: r.UserEmail} }

// EraseTx erases, in tx (the deletion's transaction), userID's name and
// email and the free text of their requests, and withdraws those still
// open or being granted.
func EraseTx(ctx context.Context, tx *sql.Tx, userID string) error {
	// A deleted person's requests are also moot: none stays open for an
	// admin to approve, and a queued grant finds its request no longer
	// approving and assigns nothing to a person Permit is deleting.
	if _, err := tx.ExecContext(ctx, `UPDATE access_requests SET user_name = '', user_email = '', reason = '', note = '',
		state = CASE WHEN state IN ('open', 'approving') THEN 'withdrawn' ELSE state END
		WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("erase access requests: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE access_requests SET decided_by_name = '' WHERE decided_by = $1`, userID); err != nil {
		return fmt.Errorf("erase access request deciders: %w", err)
	}
	return nil
}
