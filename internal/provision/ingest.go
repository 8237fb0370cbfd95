package provision

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"reportgate/internal/database"
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
	// OutcomeTest: the console's "send test payload".
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
//
// Concurrent deliveries share a transaction (group commit, see
// groupCommitter): one commit, and so one disk flush, for a whole batch.
// Each caller still returns only after the commit that holds its delivery.
func (s *Service) Ingest(ctx context.Context, body []byte, ev webhook.Event) (Outcome, error) {
	res, err := s.ingests.submit(ctx, s.prepare(ctx, body, ev))
	if err != nil {
		return "", fmt.Errorf("ingest %s: %w", ev.Name, err)
	}
	if res.revoke {
		why := "suspended"
		if ev.Name == webhook.EventUserDeleted {
			why = "deleted"
		}
		s.revokeNow(ctx, ev.UserID, why)
	}
	return res.outcome, nil
}

// prepare does the part of ingesting that needs no database.
func (s *Service) prepare(ctx context.Context, body []byte, ev webhook.Event) *pendingDelivery {
	sum := sha256.Sum256(body)
	d := &pendingDelivery{
		ctx:  ctx,
		ev:   ev,
		hash: hex.EncodeToString(sum[:]),
		now:  s.now(),
		done: make(chan ingestResult, 1),
	}
	d.outcome = s.classify(ev, d.now)
	// An accepted User.Deleted erases every stored payload of the user,
	// this one included (apply), so sanitizing it would be wasted work.
	if d.outcome != OutcomeAccepted || ev.Name != webhook.EventUserDeleted {
		var err error
		if d.payload, err = webhook.Sanitize(body); err != nil {
			// Parse accepted the body, so this should not happen; losing the
			// stored copy is better than losing the event.
			s.log.WarnContext(ctx, "provision: cannot sanitize payload; storing none", "event", ev.Name, "error", err)
			d.payload = nil
		}
	}
	return d
}

// ingestBatch opens a transaction, then takes the deliveries waiting by
// then, so the ones that queued while the database was busy (a worker's
// transaction on SQLite's one connection, another batch's) join this
// batch. It records them and answers each. When that transaction fails it
// writes them again one per transaction, so a delivery that cannot be
// recorded fails alone and its neighbours are neither failed nor
// acknowledged by its error.
func (s *Service) ingestBatch(take func() []*pendingDelivery) {
	batch, results, err := s.ingestTx(take)
	if err == nil || len(batch) == 0 {
		for i, d := range batch {
			d.done <- results[i]
		}
		return
	}
	if len(batch) == 1 {
		batch[0].done <- ingestResult{err: err}
		return
	}
	s.log.Warn("provision: batch of deliveries failed; recording them one by one", "size", len(batch), "error", err)
	for _, d := range batch {
		_, results, err := s.ingestTx(func() []*pendingDelivery { return []*pendingDelivery{d} })
		if err != nil {
			d.done <- ingestResult{err: err}
			continue
		}
		d.done <- results[0]
	}
}

// ingestTx records the batch take returns in one transaction, in a fixed
// number of statements for the common case: the event rows in one insert,
// the profiles in one upsert per round (a user's first profile in the
// first, their second, as a User.Created followed by its PostRegister, in
// the second), the jobs in one insert, then the counts; one more drops
// the payloads of the deliveries not acted on that are about deleted
// users (eraseLatePayloads), when there are any. Other accepted
// events (deletions, suspensions, partial profiles) are applied one by one
// after that;
// deliveries that arrive together have no order among them, so applying
// them in this order is as valid as any other. A batch serves many
// requests, so no single request's context may cancel it; it has its own
// deadline instead. The batch is returned even when writing it failed.
func (s *Service) ingestTx(take func() []*pendingDelivery) (batch []*pendingDelivery, _ []ingestResult, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), ingestTxTimeout)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	batch = take()
	if err != nil {
		return batch, nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if len(batch) == 0 {
		return nil, nil, nil
	}

	// Rows are written in user order, the same in every batch, so that
	// batches written at once on PostgreSQL do not deadlock on one
	// another's users. One user's deliveries keep their order.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(batch[a].ev.UserID, batch[b].ev.UserID) })

	results := make([]ingestResult, len(batch))
	eventIDs, err := insertEvents(ctx, tx, batch, order)
	if err != nil {
		return batch, nil, err
	}
	// Accepted deliveries, by how they are applied: profile upserts in
	// rounds, the k-th of each user's in round k (one statement may not
	// change a row twice), the others one by one.
	var rounds [][]int
	var single []int
	perUser := map[string]int{}
	for _, i := range order {
		d := batch[i]
		results[i].outcome = d.outcome
		switch {
		case eventIDs[i] == 0:
			results[i].outcome = OutcomeDuplicate
		case d.outcome != OutcomeAccepted:
		case d.ev.User != nil && d.ev.Name != webhook.EventUserDeleted && d.ev.Name != webhook.EventUserSuspension:
			k := perUser[d.ev.UserID]
			perUser[d.ev.UserID]++
			if k == len(rounds) {
				rounds = append(rounds, nil)
			}
			rounds[k] = append(rounds[k], i)
		default:
			single = append(single, i)
		}
	}
	applied := make([]bool, len(batch))
	// suspends marks the suspensions that set the person suspended: only
	// those end sessions, not one older than the state it would change.
	suspends := make([]bool, len(batch))
	for _, round := range rounds {
		if err := upsertProfiles(ctx, tx, batch, round, applied); err != nil {
			return batch, nil, err
		}
	}
	for _, i := range single {
		ev := batch[i].ev
		ok, suspended, err := s.apply(ctx, tx, ev, batch[i].now)
		if err != nil {
			return batch, nil, fmt.Errorf("%s for %s: %w", ev.Name, ev.UserID, err)
		}
		applied[i], suspends[i] = ok, suspended
	}

	var users []string                     // distinct users that need a job, in user order
	var ignored []any                      // event row ids, as query arguments
	jobEvents := make([]int64, len(batch)) // event row to point at the job, by delivery
	for _, i := range order {
		if results[i].outcome != OutcomeAccepted {
			continue
		}
		ev := batch[i].ev
		if !applied[i] {
			// A tombstoned user: recorded without the payload (we erased
			// this person), nothing to do.
			results[i].outcome = OutcomeIgnored
			ignored = append(ignored, eventIDs[i])
			continue
		}
		jobEvents[i] = eventIDs[i]
		results[i].revoke = ev.Name == webhook.EventUserDeleted || suspends[i]
		if len(users) == 0 || users[len(users)-1] != ev.UserID {
			users = append(users, ev.UserID)
		}
	}
	if len(ignored) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET outcome = 'ignored', payload = '' WHERE id IN (`+
			database.Placeholders(1, len(ignored))+`)`, ignored...); err != nil {
			return batch, nil, fmt.Errorf("mark ignored: %w", err)
		}
	}
	if err := eraseLatePayloads(ctx, tx, batch, eventIDs); err != nil {
		return batch, nil, err
	}
	if len(users) > 0 {
		jobs, err := s.enqueueMany(ctx, tx, users)
		if err != nil {
			return batch, nil, err
		}
		if err := setJobIDs(ctx, tx, batch, jobEvents, jobs); err != nil {
			return batch, nil, err
		}
	}
	counts := map[Outcome]int64{}
	for _, r := range results {
		counts[r.outcome]++
	}
	if err := countTx(ctx, tx, batch[0].now, counts); err != nil {
		return batch, nil, err
	}
	if err := tx.Commit(); err != nil {
		return batch, nil, fmt.Errorf("commit: %w", err)
	}
	return batch, results, nil
}

// insertEvents inserts the event row of every delivery of batch, in one
// statement, and returns each one's row id; 0 marks a duplicate: a body
// seen before, or earlier in this batch.
func insertEvents(ctx context.Context, tx *sql.Tx, batch []*pendingDelivery, order []int) ([]int64, error) {
	const cols = 7
	var values strings.Builder
	args := make([]any, 0, cols*len(batch))
	first := map[string]bool{}
	for _, i := range order {
		d := batch[i]
		if first[d.hash] {
			continue
		}
		first[d.hash] = true
		if len(args) > 0 {
			values.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&values, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, d.hash, d.ev.Name, d.ev.UserID, string(d.outcome), d.now.UnixMilli(), d.ev.CreatedAt.UnixMilli(), string(d.payload))
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO webhook_events
		(delivery_hash, event, user_id, outcome, received_at, event_created_at, payload)
		VALUES `+values.String()+`
		ON CONFLICT (delivery_hash) DO NOTHING
		RETURNING id, delivery_hash`, args...)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	defer rows.Close()
	inserted := make(map[string]int64, len(first))
	for rows.Next() {
		var id int64
		var hash string
		if err := rows.Scan(&id, &hash); err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
		inserted[hash] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	ids := make([]int64, len(batch))
	for _, i := range order {
		h := batch[i].hash
		ids[i] = inserted[h]
		delete(inserted, h) // a second copy in this batch is a duplicate
	}
	return ids, nil
}

// upsertProfiles is upsertProfile for the deliveries idx of batch, whose
// users are distinct (one statement may not change a row twice), in one
// statement. It sets applied[i], for each delivery i of idx, to whether
// the user's row was written; a tombstoned user's is not.
func upsertProfiles(ctx context.Context, tx *sql.Tx, batch []*pendingDelivery, idx []int, applied []bool) error {
	var values strings.Builder
	args := make([]any, 0, 6*len(idx))
	for _, i := range idx {
		d := batch[i]
		if len(args) > 0 {
			values.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&values, "($%d, $%d, $%d, $%d, 'pending', FALSE, 1, $%d, $%d)",
			n+1, n+2, n+3, n+4, n+5, n+6)
		u := d.ev.User
		args = append(args, u.ID, u.Email, u.Name, unixMilli(u.CreatedAt), d.ev.CreatedAt.UnixMilli(), d.now.UnixMilli())
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO user_sync
		(user_id, email, name, registered_at, state, needs_fetch, generation, profile_at, updated_at)
		VALUES `+values.String()+profileConflict+` RETURNING user_id`, args...)
	if err != nil {
		return fmt.Errorf("upsert users: %w", err)
	}
	defer rows.Close()
	written := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("upsert users: %w", err)
		}
		written[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("upsert users: %w", err)
	}
	for _, i := range idx {
		applied[i] = written[batch[i].ev.UserID]
	}
	return nil
}

// eraseLatePayloads drops the stored payload of every delivery of batch
// that was not accepted (ignored, test, stale, future) and is about a
// tombstoned user, in one statement, run only when there are such
// deliveries. Logto promises no order, so a PostSignIn or an old update
// may arrive after the person's User.Deleted erased their payloads; an
// accepted one is caught by the tombstone guard of its upsert instead.
func eraseLatePayloads(ctx context.Context, tx *sql.Tx, batch []*pendingDelivery, eventIDs []int64) error {
	var ids []any
	for i, d := range batch {
		if eventIDs[i] != 0 && d.outcome != OutcomeAccepted && d.ev.UserID != "" && len(d.payload) > 0 {
			ids = append(ids, eventIDs[i])
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// A lookup by key per row: deleted_at has no index, and SQLite would
	// read all of user_sync for an IN over it.
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET payload = '' WHERE id IN (`+
		database.Placeholders(1, len(ids))+`) AND EXISTS (SELECT 1 FROM user_sync s
		WHERE s.user_id = webhook_events.user_id AND s.deleted_at IS NOT NULL)`,
		ids...); err != nil {
		return fmt.Errorf("erase payloads of deleted users: %w", err)
	}
	return nil
}

// setJobIDs points each accepted event row of batch (eventIDs[i] != 0) at
// its user's job, in one statement for the whole batch.
func setJobIDs(ctx context.Context, tx *sql.Tx, batch []*pendingDelivery, eventIDs []int64, jobs map[string]int64) error {
	var cases, ids strings.Builder
	args := make([]any, 0, 2*len(batch))
	for i, id := range eventIDs {
		if id == 0 {
			continue
		}
		if len(args) > 0 {
			ids.WriteString(", ")
		}
		args = append(args, id, jobs[batch[i].ev.UserID])
		fmt.Fprintf(&cases, " WHEN $%d THEN CAST($%d AS BIGINT)", len(args)-1, len(args))
		fmt.Fprintf(&ids, "$%d", len(args)-1)
	}
	query := `UPDATE webhook_events SET job_id = CASE id` + cases.String() + ` END WHERE id IN (` + ids.String() + `)`
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("set job ids: %w", err)
	}
	return nil
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
		// User.Created.
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
// when the user is tombstoned (then nothing changed), and whether the
// event set the person suspended: a suspension older than the state it
// would change is not applied and ends no session. Every statement
// carries its own guard (deleted_at IS NULL, event-time order) so that,
// on PostgreSQL, concurrent ingests for one user re-check it against the
// row they finally lock.
func (s *Service) apply(ctx context.Context, tx *sql.Tx, ev webhook.Event, now time.Time) (ok, suspended bool, err error) {
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
			return false, false, fmt.Errorf("tombstone: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET payload = '' WHERE user_id = $1`, ev.UserID); err != nil {
			return false, false, fmt.Errorf("erase payloads: %w", err)
		}
		if s.erase != nil {
			if err := s.erase(ctx, tx, ev.UserID); err != nil {
				return false, false, fmt.Errorf("erase: %w", err)
			}
		}
		return true, false, nil
	}

	if ev.User != nil {
		ok, err = upsertProfile(ctx, tx, *ev.User, at, now)
	} else {
		// PostRegister whose `user` lookup failed, a User.Data.Updated with
		// only customData/profile, or a suspension without data:
		// the job fetches the user. A PostRegister for a user whose
		// User.Created already gave us the profile needs no fetch.
		force := ev.Partial || (ev.Name == webhook.EventUserSuspension && ev.Suspended == nil)
		ok, err = ensureRow(ctx, tx, ev.UserID, force, now)
	}
	if err != nil || !ok {
		return ok, false, err
	}
	if ev.Name == webhook.EventUserSuspension && (ev.Suspended != nil || ev.User != nil) {
		res, err := tx.ExecContext(ctx, `UPDATE user_sync SET suspended = $2, suspended_at = $3
			WHERE user_id = $1 AND deleted_at IS NULL AND suspended_at <= $3`,
			ev.UserID, suspendedIn(ev), at)
		changed, err := changedRow(res, err, "suspension")
		if err != nil {
			return false, false, err
		}
		return true, changed && suspendedIn(ev), nil
	}
	return true, false, nil
}

// profileConflict is how a profile upsert changes an existing user_sync
// row: email and name only move forward in event time, and a tombstoned
// user is left alone (no row written).
const profileConflict = `
		ON CONFLICT (user_id) DO UPDATE SET
			email = CASE WHEN excluded.profile_at >= user_sync.profile_at THEN excluded.email ELSE user_sync.email END,
			name = CASE WHEN excluded.profile_at >= user_sync.profile_at THEN excluded.name ELSE user_sync.name END,
			needs_fetch = CASE WHEN excluded.profile_at >= user_sync.profile_at THEN FALSE ELSE user_sync.needs_fetch END,
			profile_at = CASE WHEN excluded.profile_at > user_sync.profile_at THEN excluded.profile_at ELSE user_sync.profile_at END,
			registered_at = CASE WHEN user_sync.registered_at = 0 THEN excluded.registered_at ELSE user_sync.registered_at END,
			state = 'pending', generation = user_sync.generation + 1, updated_at = excluded.updated_at
		WHERE user_sync.deleted_at IS NULL`

// upsertProfile records u's email and name if the event (at, epoch ms) is
// not older than what set them last, and marks the user for a sync. It
// reports false for a tombstoned user.
func upsertProfile(ctx context.Context, tx *sql.Tx, u webhook.User, at int64, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO user_sync
		(user_id, email, name, registered_at, state, needs_fetch, generation, profile_at, updated_at)
		VALUES ($1, $2, $3, $4, 'pending', FALSE, 1, $5, $6)`+profileConflict,
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
	res, err := s.river.InsertTx(ctx, tx, syncArgs{UserID: userID}, s.jobOpts())
	if err != nil {
		return 0, fmt.Errorf("enqueue sync: %w", err)
	}
	return res.Job.ID, nil
}

// enqueueMany inserts, in one statement, the sync job of each of users
// (distinct: one statement may not touch one unique job twice) or finds
// its live one, and returns the job id by user.
func (s *Service) enqueueMany(ctx context.Context, tx *sql.Tx, users []string) (map[string]int64, error) {
	params := make([]river.InsertManyParams, len(users))
	for i, u := range users {
		params[i] = river.InsertManyParams{Args: syncArgs{UserID: u}, InsertOpts: s.jobOpts()}
	}
	res, err := s.river.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("enqueue sync: %w", err)
	}
	// The rows come back in no promised order; match them by their args.
	jobs := make(map[string]int64, len(res))
	for _, r := range res {
		var args syncArgs
		if err := json.Unmarshal(r.Job.EncodedArgs, &args); err != nil {
			return nil, fmt.Errorf("enqueue sync: job %d args: %w", r.Job.ID, err)
		}
		jobs[args.UserID] = r.Job.ID
	}
	for _, u := range users {
		if jobs[u] == 0 {
			return nil, fmt.Errorf("enqueue sync: no job returned for %s", u)
		}
	}
	return jobs, nil
}

func (s *Service) jobOpts() *river.InsertOpts {
	return &river.InsertOpts{
		MaxAttempts: s.maxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: liveStates},
	}
}

func (s *Service) revokeNow(ctx context.Context, userID, why string) {
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
	s.recordRevoked(ctx, userID, why, n)
}

// countTx adds counts (deliveries by outcome) to the day of now, in one
// statement. The rows are written in outcome order, the same in every
// batch: in map order, two batches written at once on PostgreSQL could
// lock two count rows in opposite orders and deadlock.
func countTx(ctx context.Context, tx *sql.Tx, now time.Time, counts map[Outcome]int64) error {
	day := now.UTC().Unix() / 86400
	var values strings.Builder
	args := make([]any, 0, 3*len(counts))
	for _, outcome := range slices.Sorted(maps.Keys(counts)) {
		if len(args) > 0 {
			values.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&values, "($%d, $%d, $%d)", n+1, n+2, n+3)
		args = append(args, day, string(outcome), counts[outcome])
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_counts (day, kind, n) VALUES `+values.String()+`
		ON CONFLICT (day, kind) DO UPDATE SET n = webhook_counts.n + excluded.n`, args...); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	return nil
}

// Reconcile is called at sign-in with what the ID token says: a user who is
// not synced (no row, queued, or failed) and not deleted is upserted and
// gets a sync job — the safety net for a webhook Logto never delivered.
// A synced user is left alone, so Reconcile never re-grants a role. The
// token's profile is stamped on Logto's clock (logtoTime), not ours.
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
		var at int64
		if at, err = logtoTime(ctx, tx, u.ID); err != nil {
			return fmt.Errorf("reconcile %s: %w", u.ID, err)
		}
		ok, err = upsertProfile(ctx, tx, u, at, now)
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
