package provision

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"reportgate/internal/webhook"
)

// Outcome is what Ingest did with a delivery.
type Outcome string

const (
	// OutcomeAccepted: recorded, user_sync updated, a sync job queued.
	OutcomeAccepted Outcome = "accepted"
	// OutcomeIgnored: recorded only — an event reportgate does not act on
	// (PostSignIn, non-user events), or one about a deleted user.
	OutcomeIgnored Outcome = "ignored"
	// OutcomeTest: the console's "send test payload" (logto.md §1.7).
	OutcomeTest Outcome = "test"
	// OutcomeStale: createdAt older than MaxEventAge; recorded, not acted on.
	OutcomeStale Outcome = "stale"
	// OutcomeFuture: createdAt more than MaxEventSkew ahead of our clock;
	// recorded, not acted on, so it cannot set the profile clock ahead and
	// make every later update look older.
	OutcomeFuture Outcome = "future"
	// OutcomeDuplicate: the exact body was seen before; counted only.
	OutcomeDuplicate Outcome = "duplicate"
)

// Ingest durably records a verified, parsed delivery and, when it calls for
// a Permit change, enqueues the user's sync job — both in one transaction,
// so once Ingest returns nil the receiver may answer 2xx and nothing can be
// lost. It makes no Permit call. After the commit, a deletion or suspension
// revokes the user's sessions at once (the job does it again).
func (s *Service) Ingest(ctx context.Context, body []byte, ev webhook.Event) (Outcome, error) {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	now := s.now()
	outcome := s.classify(ev, now)
	var payload []byte
	// An accepted User.Deleted erases every stored payload of the user,
	// this one included (apply), so sanitizing it would be wasted work.
	if outcome != OutcomeAccepted || ev.Name != webhook.EventUserDeleted {
		var err error
		if payload, err = webhook.Sanitize(body); err != nil {
			// Parse accepted the body, so this should not happen; losing the
			// stored copy is better than losing the event.
			s.log.WarnContext(ctx, "provision: cannot sanitize payload; storing none", "event", ev.Name, "error", err)
			payload = nil
		}
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("ingest %s: %w", ev.Name, err)
	}
	defer tx.Rollback()

	var eventID int64
	err = tx.QueryRowContext(ctx, `INSERT INTO webhook_events
		(delivery_hash, event, user_id, outcome, received_at, event_created_at, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (delivery_hash) DO NOTHING
		RETURNING id`,
		hash, ev.Name, ev.UserID, string(outcome), now.UnixMilli(), ev.CreatedAt.UnixMilli(), string(payload)).Scan(&eventID)
	if errors.Is(err, sql.ErrNoRows) {
		if err := countTx(ctx, tx, now, string(OutcomeDuplicate)); err != nil {
			return "", fmt.Errorf("ingest %s: %w", ev.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return "", fmt.Errorf("ingest %s: %w", ev.Name, err)
		}
		return OutcomeDuplicate, nil
	}
	if err != nil {
		return "", fmt.Errorf("ingest %s: record: %w", ev.Name, err)
	}

	revoke := false
	if outcome == OutcomeAccepted {
		applied, err := s.apply(ctx, tx, ev, now)
		if err != nil {
			return "", fmt.Errorf("ingest %s for %s: %w", ev.Name, ev.UserID, err)
		}
		if applied {
			jobID, err := s.enqueue(ctx, tx, ev.UserID)
			if err != nil {
				return "", fmt.Errorf("ingest %s for %s: %w", ev.Name, ev.UserID, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET job_id = $1 WHERE id = $2`, jobID, eventID); err != nil {
				return "", fmt.Errorf("ingest %s: %w", ev.Name, err)
			}
			revoke = ev.Name == webhook.EventUserDeleted || (ev.Name == webhook.EventUserSuspension && suspendedIn(ev))
		} else {
			// A tombstoned user: recorded without the payload (we erased
			// this person), nothing to do.
			outcome = OutcomeIgnored
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET outcome = $1, payload = '' WHERE id = $2`, string(outcome), eventID); err != nil {
				return "", fmt.Errorf("ingest %s: %w", ev.Name, err)
			}
		}
	}
	if err := countTx(ctx, tx, now, string(outcome)); err != nil {
		return "", fmt.Errorf("ingest %s: %w", ev.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("ingest %s: commit: %w", ev.Name, err)
	}
	if revoke {
		why, name := "suspended", ""
		if ev.Name == webhook.EventUserDeleted {
			why = "deleted"
		} else if ev.User != nil {
			name = cmp.Or(ev.User.Name, ev.User.Email)
		}
		s.revokeNow(ctx, ev.UserID, name, why)
	}
	return outcome, nil
}

// classify decides, from the event alone, whether it is acted on.
func (s *Service) classify(ev webhook.Event, now time.Time) Outcome {
	switch {
	case ev.Test:
		return OutcomeTest
	case now.Sub(ev.CreatedAt) > s.maxAge:
		return OutcomeStale
	case ev.CreatedAt.Sub(now) > MaxEventSkew:
		return OutcomeFuture
	case !ev.Actionable() || ev.UserID == "":
		// Unknown events and PostSignIn, which carries nothing to act on:
		// users who change fire User.Data.Updated, and every user fires
		// User.Created (§1.5).
		return OutcomeIgnored
	}
	return OutcomeAccepted
}

func suspendedIn(ev webhook.Event) bool {
	if ev.Suspended != nil {
		return *ev.Suspended
	}
	return ev.User != nil && ev.User.IsSuspended
}

// apply folds an accepted event into user_sync inside tx. It reports false
// when the user is tombstoned (then nothing changed). Every statement
// carries its own guard (deleted_at IS NULL, event-time order) so that,
// on PostgreSQL, concurrent ingests for one user re-check it against the
// row they finally lock.
func (s *Service) apply(ctx context.Context, tx *sql.Tx, ev webhook.Event, now time.Time) (bool, error) {
	at := ev.CreatedAt.UnixMilli()
	switch ev.Name {
	case webhook.EventUserDeleted:
		// Tombstone and erase what we hold about the person, including the
		// stored payloads of their earlier deliveries.
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_sync
			(user_id, state, deleted_at, generation, updated_at) VALUES ($1, 'pending', $2, 1, $2)
			ON CONFLICT (user_id) DO UPDATE SET
				email = '', name = '', needs_fetch = FALSE, state = 'pending',
				deleted_at = COALESCE(user_sync.deleted_at, excluded.deleted_at),
				generation = user_sync.generation + 1, updated_at = excluded.updated_at`,
			ev.UserID, now.UnixMilli()); err != nil {
			return false, fmt.Errorf("tombstone: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET payload = '' WHERE user_id = $1`, ev.UserID); err != nil {
			return false, fmt.Errorf("erase payloads: %w", err)
		}
		if s.erase != nil {
			if err := s.erase(ctx, tx, ev.UserID); err != nil {
				return false, fmt.Errorf("erase: %w", err)
			}
		}
		return true, nil
	}

	var ok bool
	var err error
	if ev.User != nil {
		ok, err = upsertProfile(ctx, tx, *ev.User, at, now)
	} else {
		// PostRegister whose `user` lookup failed, a User.Data.Updated with
		// only customData/profile (§1.6), or a suspension without data:
		// the job fetches the user. A PostRegister for a user whose
		// User.Created already gave us the profile needs no fetch.
		force := ev.Partial || (ev.Name == webhook.EventUserSuspension && ev.Suspended == nil)
		ok, err = ensureRow(ctx, tx, ev.UserID, force, now)
	}
	if err != nil || !ok {
		return ok, err
	}
	if ev.Name == webhook.EventUserSuspension && (ev.Suspended != nil || ev.User != nil) {
		if _, err := tx.ExecContext(ctx, `UPDATE user_sync SET suspended = $2, suspended_at = $3
			WHERE user_id = $1 AND deleted_at IS NULL AND suspended_at <= $3`,
			ev.UserID, suspendedIn(ev), at); err != nil {
			return false, fmt.Errorf("suspension: %w", err)
		}
	}
	return true, nil
}

// upsertProfile records u's email and name if the event (at, epoch ms) is
// not older than what set them last, and marks the user for a sync. It
// reports false for a tombstoned user.
func upsertProfile(ctx context.Context, tx *sql.Tx, u webhook.User, at int64, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO user_sync
		(user_id, email, name, registered_at, state, needs_fetch, generation, profile_at, updated_at)
		VALUES ($1, $2, $3, $4, 'pending', FALSE, 1, $5, $6)
		ON CONFLICT (user_id) DO UPDATE SET
			email = CASE WHEN excluded.profile_at >= user_sync.profile_at THEN excluded.email ELSE user_sync.email END,
			name = CASE WHEN excluded.profile_at >= user_sync.profile_at THEN excluded.name ELSE user_sync.name END,
			needs_fetch = CASE WHEN excluded.profile_at >= user_sync.profile_at THEN FALSE ELSE user_sync.needs_fetch END,
			profile_at = CASE WHEN excluded.profile_at > user_sync.profile_at THEN excluded.profile_at ELSE user_sync.profile_at END,
			registered_at = CASE WHEN user_sync.registered_at = 0 THEN excluded.registered_at ELSE user_sync.registered_at END,
			state = 'pending', generation = user_sync.generation + 1, updated_at = excluded.updated_at
		WHERE user_sync.deleted_at IS NULL`,
		u.ID, u.Email, u.Name, unixMilli(u.CreatedAt), at, now.UnixMilli())
	return changedRow(res, err, "upsert user")
}

// ensureRow marks the user for a sync, creating the row if needed. A new
// row, or force, asks the job to fetch the profile from Logto.
func ensureRow(ctx context.Context, tx *sql.Tx, userID string, force bool, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO user_sync
		(user_id, state, needs_fetch, generation, updated_at) VALUES ($1, 'pending', TRUE, 1, $2)
		ON CONFLICT (user_id) DO UPDATE SET
			needs_fetch = CASE WHEN $3 OR user_sync.profile_at = 0 THEN TRUE ELSE user_sync.needs_fetch END,
			state = 'pending', generation = user_sync.generation + 1, updated_at = excluded.updated_at
		WHERE user_sync.deleted_at IS NULL`,
		userID, now.UnixMilli(), force)
	return changedRow(res, err, "mark user")
}

// changedRow reports whether the user_sync upsert that returned res, err
// wrote a row; the guard WHERE user_sync.deleted_at IS NULL writes none
// for a tombstoned user.
func changedRow(res sql.Result, err error, what string) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n > 0, nil
}

// enqueue inserts the user's sync job in tx, or finds the live one (unique
// by user id while available, pending, running, retryable or scheduled),
// and returns its id.
func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, userID string) (int64, error) {
	res, err := s.river.InsertTx(ctx, tx, syncArgs{UserID: userID}, &river.InsertOpts{
		MaxAttempts: s.maxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: liveStates},
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue sync: %w", err)
	}
	return res.Job.ID, nil
}

func (s *Service) revokeNow(ctx context.Context, userID, name, why string) {
	if s.sessions == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	n, err := s.sessions.RevokeUser(ctx, userID)
	if err != nil {
		// The job revokes again; log and go on.
		s.log.WarnContext(ctx, "provision: revoke sessions", "user", userID, "error", err)
	}
	s.recordRevoked(ctx, userID, name, why, n)
}

func countTx(ctx context.Context, tx *sql.Tx, now time.Time, kind string) error {
	day := now.UTC().Unix() / 86400
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_counts (day, kind, n) VALUES ($1, $2, 1)
		ON CONFLICT (day, kind) DO UPDATE SET n = webhook_counts.n + 1`, day, kind); err != nil {
		return fmt.Errorf("count %s: %w", kind, err)
	}
	return nil
}

// Reconcile is called at sign-in with what the ID token says: a user who is
// not synced (no row, queued, or failed) and not deleted is upserted and
// gets a sync job — the safety net for a webhook Logto never delivered.
// A synced user is left alone, so Reconcile never re-grants a role.
func (s *Service) Reconcile(ctx context.Context, u webhook.User) error {
	if u.ID == "" {
		return errors.New("reconcile: user has no id")
	}
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", u.ID, err)
	}
	defer tx.Rollback()
	var state string
	var deleted sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT state, deleted_at FROM user_sync WHERE user_id = $1`, u.ID).Scan(&state, &deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("reconcile %s: %w", u.ID, err)
	case deleted.Valid || state == "synced":
		return nil
	}
	var ok bool
	if u.Email != "" || u.Name != "" {
		ok, err = upsertProfile(ctx, tx, u, now.UnixMilli(), now)
	} else {
		ok, err = ensureRow(ctx, tx, u.ID, false, now)
	}
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", u.ID, err)
	}
	if !ok {
		return nil
	}
	if _, err := s.enqueue(ctx, tx, u.ID); err != nil {
		return fmt.Errorf("reconcile %s: %w", u.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reconcile %s: %w", u.ID, err)
	}
	return nil
}

// MarkSynced records u as already in Permit, for accounts seeded straight
// into Permit (dev demo users). grantedDefaultRole marks the default role as
// granted, so it is never added later — use it for accounts that must keep
// no role. A deleted user stays deleted. synced_at stays empty: no job
// synced them, so no propagation grace ("access being set up") applies.
func (s *Service) MarkSynced(ctx context.Context, u webhook.User, grantedDefaultRole bool) error {
	if u.ID == "" {
		return errors.New("mark synced: user has no id")
	}
	now := s.now().UnixMilli()
	var granted sql.NullInt64
	if grantedDefaultRole {
		granted = sql.NullInt64{Int64: now, Valid: true}
	}
	// generation moves on so a job already running for the user does not
	// overwrite this with its older view; it re-runs instead.
	if _, err := s.db.ExecContext(ctx, `INSERT INTO user_sync
		(user_id, email, name, registered_at, state, default_role_granted_at, synced_at, generation, profile_at, updated_at)
		VALUES ($1, $2, $3, $4, 'synced', $5, NULL, 1, $6, $6)
		ON CONFLICT (user_id) DO UPDATE SET
			email = excluded.email, name = excluded.name, state = 'synced',
			default_role_granted_at = COALESCE(user_sync.default_role_granted_at, excluded.default_role_granted_at),
			synced_at = NULL, last_error = '', attempts = 0, needs_fetch = FALSE,
			profile_at = excluded.profile_at, generation = user_sync.generation + 1, updated_at = excluded.updated_at
		WHERE user_sync.deleted_at IS NULL`,
		u.ID, u.Email, u.Name, unixMilli(u.CreatedAt), granted, now); err != nil {
		return fmt.Errorf("mark synced %s: %w", u.ID, err)
	}
	return nil
}
