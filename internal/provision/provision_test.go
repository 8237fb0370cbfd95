package provision

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/webhook"
)

func TestSameDeliveryThreeTimes(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		s := newService(t, testConfig(db, fp), true)
		body, ev := delivery(t, webhook.EventUserCreated, "user00000001", "a@example.com", "Ada", time.Now())

		var got []Outcome
		for range 3 {
			got = append(got, ingest(t, s, body, ev))
		}
		if !slices.Equal(got, []Outcome{OutcomeAccepted, OutcomeDuplicate, OutcomeDuplicate}) {
			t.Fatalf("outcomes = %v", got)
		}
		waitStatus(t, s, StatusSynced, "user00000001")
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events`); n != 1 {
			t.Errorf("webhook_events rows = %d, want 1", n)
		}
		if n := jobCount(t, s, "user00000001"); n != 1 {
			t.Errorf("jobs = %d, want 1", n)
		}
		users, syncs, grants, _, _ := fp.snapshot()
		if len(users) != 1 || syncs["user00000001"] != 1 || grants["user00000001"] != 1 {
			t.Errorf("permit users=%v syncs=%v grants=%v; want one of each", users, syncs, grants)
		}
		ov, err := s.Overview(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ov.Counts {
			want := map[string]int64{"accepted": 1, "duplicate": 2}[c.Kind]
			if c.Total != want || c.Last24h != want {
				t.Errorf("count %s = %d/%d, want %d", c.Kind, c.Last24h, c.Total, want)
			}
		}
	})
}

func TestCreatedAndPostRegisterEitherOrder(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		s := newService(t, testConfig(db, fp), true)
		now := time.Now()
		for i, order := range [][]string{
			{webhook.EventUserCreated, webhook.EventPostRegister},
			{webhook.EventPostRegister, webhook.EventUserCreated},
		} {
			id := fmt.Sprintf("order%07d", i)
			for j, name := range order {
				body, ev := delivery(t, name, id, id+"@example.com", "", now.Add(time.Duration(j)*time.Millisecond))
				if o := ingest(t, s, body, ev); o != OutcomeAccepted {
					t.Fatalf("%s: %s", name, o)
				}
			}
			waitStatus(t, s, StatusSynced, id)
		}
		users, _, grants, _, concurrent := fp.snapshot()
		for i := range 2 {
			id := fmt.Sprintf("order%07d", i)
			if users[id] != id+"@example.com" || grants[id] != 1 {
				t.Errorf("%s: permit email %q, grants %d; want one user, one grant", id, users[id], grants[id])
			}
		}
		if concurrent != 0 {
			t.Errorf("%d overlapping Permit calls for one user", concurrent)
		}
	})
}

func TestLateCreatedAfterDeletedStaysDeleted(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ps := startPermit(t)
		pc := ps.client(t)
		rv := &fakeRevoker{}
		cfg := testConfig(db, pc)
		cfg.Sessions = rv
		s := newService(t, cfg, true)
		ctx := context.Background()
		t0 := time.Now().Add(-time.Minute)
		const id = "deleted00001"

		// Deleted arrives first; the User.Created from before it comes late.
		delBody, delEv := delivery(t, webhook.EventUserDeleted, id, "gone@example.com", "Gone", t0.Add(time.Second))
		if o := ingest(t, s, delBody, delEv); o != OutcomeAccepted {
			t.Fatalf("deleted: %s", o)
		}
		if rv.count(id) == 0 {
			t.Error("User.Deleted did not revoke sessions at once")
		}
		createdBody, createdEv := delivery(t, webhook.EventUserCreated, id, "gone@example.com", "Gone", t0)
		if o := ingest(t, s, createdBody, createdEv); o != OutcomeIgnored {
			t.Fatalf("late created: %s, want ignored", o)
		}
		// A register after deletion (another delivery) is ignored too.
		regBody, regEv := delivery(t, webhook.EventPostRegister, id, "gone@example.com", "Gone", t0.Add(2*time.Second))
		if o := ingest(t, s, regBody, regEv); o != OutcomeIgnored {
			t.Fatalf("register after delete: %s, want ignored", o)
		}
		waitFor(t, 30*time.Second, "deletion job", func() bool {
			var state string
			db.QueryRowContext(ctx, `SELECT state FROM user_sync WHERE user_id = $1`, id).Scan(&state)
			return state == "deleted"
		})
		if err := s.Reconcile(ctx, webhook.User{ID: id, Email: "gone@example.com"}); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.State(ctx, id); st.Status != StatusDeleted {
			t.Errorf("state = %+v, want deleted", st)
		}
		var email string
		if err := db.QueryRowContext(ctx, `SELECT email FROM user_sync WHERE user_id = $1`, id).Scan(&email); err != nil || email != "" {
			t.Errorf("email = %q (%v), want erased", email, err)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events WHERE user_id = $1 AND payload <> ''`, id); n != 0 {
			t.Errorf("%d stored payloads still hold the deleted user's data", n)
		}
		created, _, _ := ps.counts()
		if created[id] != 0 {
			t.Errorf("user was created in Permit %d times after deletion", created[id])
		}
		if _, err := pc.AssignedRoles(ctx, id); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLateUnacceptedDeliveryKeepsNoPayloadOfAnErasedPerson: User.Deleted
// erases the stored payloads of the person's deliveries. Logto promises no
// order, so a PostSignIn (ignored) or a stale User.Data.Updated may arrive
// after it: such deliveries, though not accepted, must not be stored with
// the erased person's email and name either.
func TestLateUnacceptedDeliveryKeepsNoPayloadOfAnErasedPerson(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		s := newService(t, testConfig(db, newFakePermit()), false)
		const id = "latepayload1"
		body, ev := delivery(t, webhook.EventUserDeleted, id, "gone@example.com", "Gone Person", time.Now())
		if o := ingest(t, s, body, ev); o != OutcomeAccepted {
			t.Fatalf("deletion: %s", o)
		}
		late := []struct {
			event string
			at    time.Time
		}{
			{webhook.EventPostSignIn, time.Now().Add(-time.Minute)},
			{webhook.EventUserDataUpdated, time.Now().Add(-30 * 24 * time.Hour)}, // stale
		}
		for _, l := range late {
			body, ev := delivery(t, l.event, id, "gone@example.com", "Gone Person", l.at)
			o := ingest(t, s, body, ev)
			t.Logf("%s after the deletion: %s", l.event, o)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events WHERE user_id = $1 AND payload LIKE '%gone@example.com%'`, id); n > 0 {
			t.Errorf("%d stored payloads of the erased person still hold their email", n)
		}
	})
}

func TestRemovedRoleIsNotRestored(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ps := startPermit(t)
		pc := ps.client(t)
		s := newService(t, testConfig(db, pc), true)
		ctx := context.Background()
		const id = "rolegone0001"
		body, ev := delivery(t, webhook.EventUserCreated, id, "r@example.com", "Rita", time.Now())
		ingest(t, s, body, ev)
		waitStatus(t, s, StatusSynced, id)
		if roles, err := pc.AssignedRoles(ctx, id); err != nil || !slices.Equal(roles, []string{"viewer"}) {
			t.Fatalf("roles = %v (%v), want [viewer]", roles, err)
		}
		// An admin removes the role in Permit.
		if err := pc.UnassignRole(ctx, id, "viewer"); err != nil {
			t.Fatal(err)
		}
		first, _ := s.State(ctx, id)

		// Replay, a new change event, a reconcile at sign-in and a manual
		// retry of the finished job.
		if o := ingest(t, s, body, ev); o != OutcomeDuplicate {
			t.Fatalf("replay: %s", o)
		}
		upBody, upEv := delivery(t, webhook.EventUserDataUpdated, id, "rita@example.com", "Rita", time.Now())
		if o := ingest(t, s, upBody, upEv); o != OutcomeAccepted {
			t.Fatalf("update: %s", o)
		}
		waitFor(t, 30*time.Second, "the update to sync", func() bool {
			st, _ := s.State(ctx, id)
			return st.Status == StatusSynced && st.SyncedAt.After(first.SyncedAt)
		})
		if err := s.Reconcile(ctx, webhook.User{ID: id, Email: "rita@example.com"}); err != nil {
			t.Fatal(err)
		}
		// Reconcile of a synced user enqueues nothing.
		if n := jobCount(t, s, id); n != 2 {
			t.Errorf("jobs = %d, want 2 (create, update)", n)
		}
		roles, err := pc.AssignedRoles(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(roles) != 0 {
			t.Fatalf("roles = %v after replay/update/reconcile; the removed role came back", roles)
		}
		_, granted, _ := ps.counts()
		if granted[id] != 1 {
			t.Errorf("grants = %d, want 1", granted[id])
		}
	})
}

func TestStaleTestAndIgnoredEvents(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		s := newService(t, testConfig(db, fp), false) // not started: nothing may need a worker
		old, oldEv := delivery(t, webhook.EventUserCreated, "stale0000001", "s@example.com", "", time.Now().Add(-8*24*time.Hour))
		if o := ingest(t, s, old, oldEv); o != OutcomeStale {
			t.Errorf("8-day-old event: %s, want stale", o)
		}
		testBody := []byte(`{"event":"User.Created","hookId":"hook0000000000000000a","createdAt":"` +
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z") + `","userAgent":"fake-user-agent","path":"/fake-path/:id",` +
			`"method":"POST","status":200,"params":{"id":"fake-id"},"data":{"result":"success"}}`)
		testEv, err := webhook.Parse(testBody)
		if err != nil {
			t.Fatal(err)
		}
		if o := ingest(t, s, testBody, testEv); o != OutcomeTest {
			t.Errorf("test payload: %s, want test", o)
		}
		signIn, signInEv := delivery(t, webhook.EventPostSignIn, "signin000001", "x@example.com", "", time.Now())
		if o := ingest(t, s, signIn, signInEv); o != OutcomeIgnored {
			t.Errorf("PostSignIn: %s, want ignored", o)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM river_job`); n != 0 {
			t.Errorf("jobs = %d, want none", n)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM user_sync`); n != 0 {
			t.Errorf("user_sync rows = %d, want none", n)
		}
		got := map[string]int{}
		rows, err := db.QueryContext(context.Background(), `SELECT outcome FROM webhook_events`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var o string
			rows.Scan(&o)
			got[o]++
		}
		rows.Close()
		if got["stale"] != 1 || got["test"] != 1 || got["ignored"] != 1 || len(got) != 3 {
			t.Errorf("recorded outcomes = %v", got)
		}
	})
}

func TestBurstWhilePermitDown(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ps := startPermit(t)
		pc := ps.client(t)
		cfg := testConfig(db, pc)
		cfg.MaxAttempts = 1000 // the outage must not exhaust them
		s := newService(t, cfg, true)
		failed, cancel := s.river.Subscribe(river.EventKindJobFailed)
		defer cancel()
		var retries int
		var mu sync.Mutex
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range failed {
				mu.Lock()
				retries++
				mu.Unlock()
			}
		}()

		ps.SetFault(permit.Fault{Mode: permit.FaultDown, Scope: permit.ScopeAPI})
		const n = 50
		var ids []string
		acked := 0
		for i := range n {
			id := fmt.Sprintf("burst%07d", i)
			ids = append(ids, id)
			body, ev := delivery(t, webhook.EventUserCreated, id, id+"@example.com", "Burst", time.Now())
			if o := ingest(t, s, body, ev); o == OutcomeAccepted {
				acked++
			}
		}
		// Every user has failed at least once against the dead API.
		waitStatus(t, s, StatusFailed, ids...)
		ps.SetFault(permit.Fault{})
		waitStatus(t, s, StatusSynced, ids...)
		cancel()
		<-done

		created, granted, _ := ps.counts()
		synced := 0
		for _, id := range ids {
			roles, err := pc.AssignedRoles(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(roles, []string{"viewer"}) && created[id] == 1 && granted[id] == 1 {
				synced++
			} else {
				t.Errorf("%s: roles %v, created %d, granted %d", id, roles, created[id], granted[id])
			}
		}
		mu.Lock()
		t.Logf("burst: %d acknowledged, %d synced, %d retries", acked, synced, retries)
		mu.Unlock()
		if acked != n || synced != n {
			t.Fatalf("acknowledged %d, synced %d; want %d", acked, synced, n)
		}
	})
}

func TestOneJobPerUserAtATime(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		entered := make(chan struct{}, 10)
		release := make(chan struct{})
		var once sync.Once
		fp.SyncUserFunc = func(ctx context.Context, key, email, name string) error {
			entered <- struct{}{}
			once.Do(func() { <-release }) // the first sync blocks until released
			return nil
		}
		cfg := testConfig(db, fp)
		s := newService(t, cfg, true)
		const id = "single000001"
		b1, e1 := delivery(t, webhook.EventUserCreated, id, "v1@example.com", "V", time.Now())
		ingest(t, s, b1, e1)
		select {
		case <-entered:
		case <-time.After(30 * time.Second):
			t.Fatal("job never started")
		}
		// Two more events while the job is inside Permit.
		b2, e2 := delivery(t, webhook.EventUserDataUpdated, id, "v2@example.com", "V", time.Now().Add(time.Millisecond))
		b3, e3 := delivery(t, webhook.EventUserDataUpdated, id, "v3@example.com", "V", time.Now().Add(2*time.Millisecond))
		ingest(t, s, b2, e2)
		ingest(t, s, b3, e3)
		if n := jobCount(t, s, id); n != 1 {
			t.Errorf("jobs while one runs = %d, want 1", n)
		}
		close(release)
		waitFor(t, 30*time.Second, "the latest email in Permit", func() bool {
			users, _, _, _, _ := fp.snapshot()
			st, _ := s.State(context.Background(), id)
			return users[id] == "v3@example.com" && st.Status == StatusSynced
		})
		_, syncs, grants, _, concurrent := fp.snapshot()
		if concurrent != 0 {
			t.Errorf("%d Permit calls overlapped for one user", concurrent)
		}
		if syncs[id] < 2 || grants[id] != 1 {
			t.Errorf("syncs %d (want ≥2: the job re-ran for the new data), grants %d (want 1)", syncs[id], grants[id])
		}
	})
}

func TestSuspensionAndDeletionRevokeSessions(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		rv := &fakeRevoker{}
		cfg := testConfig(db, fp)
		cfg.Sessions = rv
		s := newService(t, cfg, true)
		now := time.Now()
		b, e := delivery(t, webhook.EventUserSuspension, "susp00000001", "s@example.com", "S", now, suspended(true))
		ingest(t, s, b, e)
		if rv.count("susp00000001") != 1 {
			t.Errorf("suspension: %d revocations right after Ingest, want 1", rv.count("susp00000001"))
		}
		// Unsuspending revokes nothing.
		b, e = delivery(t, webhook.EventUserSuspension, "susp00000002", "t@example.com", "T", now, suspended(false))
		ingest(t, s, b, e)
		if rv.count("susp00000002") != 0 {
			t.Error("unsuspension revoked sessions")
		}
		b, e = delivery(t, webhook.EventUserDeleted, "dele00000001", "d@example.com", "D", now)
		ingest(t, s, b, e)
		if rv.count("dele00000001") != 1 {
			t.Errorf("deletion: %d revocations right after Ingest, want 1", rv.count("dele00000001"))
		}
		waitStatus(t, s, StatusSynced, "susp00000001", "susp00000002")
		waitFor(t, 30*time.Second, "deletion job", func() bool {
			_, _, _, deletes, _ := fp.snapshot()
			return deletes["dele00000001"] == 1
		})
		// The jobs revoked again.
		waitFor(t, 10*time.Second, "job revocations", func() bool {
			return rv.count("susp00000001") == 2 && rv.count("dele00000001") == 2
		})
	})
}

// TestLateSuspensionRevokesNothing: a suspension older than the
// unsuspension already recorded does not change the person's state, so it
// must not end the sessions of someone who may use the app again.
func TestLateSuspensionRevokesNothing(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		rv := &fakeRevoker{}
		cfg := testConfig(db, newFakePermit())
		cfg.Sessions = rv
		s := newService(t, cfg, false)
		now := time.Now()
		b, e := delivery(t, webhook.EventUserSuspension, "late00000001", "l@example.com", "L", now, suspended(false))
		ingest(t, s, b, e)
		b, e = delivery(t, webhook.EventUserSuspension, "late00000001", "l@example.com", "L", now.Add(-time.Minute), suspended(true))
		ingest(t, s, b, e)
		if n := rv.count("late00000001"); n != 0 {
			t.Errorf("a suspension older than the unsuspension ended sessions %d times, want none", n)
		}
	})
}

func TestFetchesIncompleteUsersFromLogto(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		dir := &fakeLogtoUsers{users: map[string]webhook.User{
			"fetch0000001": {ID: "fetch0000001", Email: "f@example.com", Name: "Fetched"},
		}}
		cfg := testConfig(db, fp)
		cfg.Logto = dir
		s := newService(t, cfg, true)
		// A PostRegister whose `user` lookup failed: Logto omits `user`.
		body, ev := delivery(t, webhook.EventPostRegister, "fetch0000001", "", "", time.Now(),
			func(p map[string]any) { delete(p, "user") })
		if ev.User != nil {
			t.Fatal("fixture still has a user")
		}
		ingest(t, s, body, ev)
		waitStatus(t, s, StatusSynced, "fetch0000001")
		users, _, _, _, _ := fp.snapshot()
		if users["fetch0000001"] != "f@example.com" || dir.calls.Load() != 1 {
			t.Errorf("permit email %q after %d fetches", users["fetch0000001"], dir.calls.Load())
		}
	})
}

// TestFetchedProfileDoesNotOutrankLaterEvents: profile order is event
// time on Logto's clock (createdAt), which may be up to MaxEventSkew off
// ours. With ours one minute ahead, a job fetches the profile from Logto,
// then the person changes their email in Logto: the change must reach
// user_sync and Permit, so the fetch must not be stamped with our clock.
func TestFetchedProfileDoesNotOutrankLaterEvents(t *testing.T) {
	db := databasetest.Open(t, database.SQLite)
	const skew = time.Minute // our clock ahead of Logto's, well inside MaxEventSkew
	p := newFakePermit()
	logto := &fakeLogtoUsers{users: map[string]webhook.User{}}
	cfg := testConfig(db, p)
	cfg.Logto = logto
	cfg.Now = func() time.Time { return time.Now().Add(skew) }
	s := newService(t, cfg, true)
	const id = "clockskew001"
	logtoNow := time.Now // Logto's clock
	logto.mu.Lock()
	logto.users[id] = webhook.User{ID: id, Email: "old@example.com", Name: "P"}
	logto.mu.Unlock()

	// A User.Data.Updated carrying only customData: the job fetches the user.
	body, _ := json.Marshal(map[string]any{"event": webhook.EventUserDataUpdated, "userId": id, "n": 1})
	if o := ingest(t, s, body, webhook.Event{Name: webhook.EventUserDataUpdated, UserID: id, Partial: true,
		CreatedAt: logtoNow()}); o != OutcomeAccepted {
		t.Fatalf("partial update: %s", o)
	}
	waitStatus(t, s, StatusSynced, id)

	// Seconds later the person changes their email in Logto.
	time.Sleep(50 * time.Millisecond)
	logto.mu.Lock()
	logto.users[id] = webhook.User{ID: id, Email: "new@example.com", Name: "P"}
	logto.mu.Unlock()
	body, ev := delivery(t, webhook.EventUserDataUpdated, id, "new@example.com", "P", logtoNow())
	if o := ingest(t, s, body, ev); o != OutcomeAccepted {
		t.Fatalf("email change: %s", o)
	}
	waitFor(t, 30*time.Second, "the second sync", func() bool {
		_, syncs, _, _, _ := p.snapshot()
		return syncs[id] >= 2
	})
	waitStatus(t, s, StatusSynced, id)
	if users, _, _, _, _ := p.snapshot(); users[id] != "new@example.com" {
		t.Errorf("Permit has %q after the email change to new@example.com", users[id])
	}
	var email string
	if err := db.QueryRowContext(context.Background(), `SELECT email FROM user_sync WHERE user_id = $1`, id).Scan(&email); err != nil {
		t.Fatal(err)
	}
	if email != "new@example.com" {
		t.Errorf("user_sync has %q after the email change", email)
	}
}

// TestSignInProfileDoesNotOutrankLaterEvents: Reconcile stores the profile
// of an ID token, which comes from Logto too; with our clock one minute
// ahead of Logto's, an email change made in Logto right after the sign-in
// must still be applied.
func TestSignInProfileDoesNotOutrankLaterEvents(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		cfg := testConfig(db, newFakePermit())
		cfg.Now = func() time.Time { return time.Now().Add(time.Minute) }
		s := newService(t, cfg, false)
		const id = "signinskew01"
		if err := s.Reconcile(context.Background(), webhook.User{ID: id, Email: "old@example.com", Name: "P"}); err != nil {
			t.Fatal(err)
		}
		body, ev := delivery(t, webhook.EventUserDataUpdated, id, "new@example.com", "P", time.Now())
		if o := ingest(t, s, body, ev); o != OutcomeAccepted {
			t.Fatalf("email change: %s", o)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM user_sync WHERE user_id = $1 AND email = 'new@example.com'`, id); n != 1 {
			t.Error("the email change made after the sign-in was dropped")
		}
	})
}

func TestExhaustedJobStaysVisibleAndRetries(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		var mu sync.Mutex
		down := true
		fp.SyncUserFunc = func(context.Context, string, string, string) error {
			mu.Lock()
			defer mu.Unlock()
			if down {
				return errors.New("permit says no")
			}
			return nil
		}
		cfg := testConfig(db, fp)
		cfg.MaxAttempts = 2
		s := newService(t, cfg, true)
		ctx := context.Background()
		const id = "exhaust00001"
		body, ev := delivery(t, webhook.EventUserCreated, id, "e@example.com", "E", time.Now())
		ingest(t, s, body, ev)
		var ov Overview
		waitFor(t, 30*time.Second, "the job to be discarded", func() bool {
			var err error
			ov, err = s.Overview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(ov.Failed) == 1
		})
		f := ov.Failed[0]
		if f.UserID != id || f.Attempt != 2 || f.LastError == "" {
			t.Errorf("failed job = %+v", f)
		}
		st, _ := s.State(ctx, id)
		if st.Status != StatusFailed || st.Attempts != 2 || st.LastError == "" {
			t.Errorf("state = %+v, want failed after 2 attempts with the error", st)
		}
		mu.Lock()
		down = false
		mu.Unlock()
		if err := s.RetryJob(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, s, StatusSynced, id)
		if ov, _ := s.Overview(ctx); len(ov.Failed) != 0 {
			t.Errorf("failed jobs after retry = %+v", ov.Failed)
		}
	})
}

func TestSweepAndMarkSynced(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		clock := time.Now()
		var mu sync.Mutex
		cfg := testConfig(db, fp)
		cfg.Retention = time.Hour
		cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		s := newService(t, cfg, false)
		ctx := context.Background()
		if err := s.MarkSynced(ctx, webhook.User{ID: "norole000001", Email: "n@example.com"}, true); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.State(ctx, "norole000001"); st.Status != StatusSynced {
			t.Fatalf("state = %+v", st)
		}
		// A later event for the no-role account syncs it without a grant.
		body, ev := delivery(t, webhook.EventUserDataUpdated, "norole000001", "n2@example.com", "", clock)
		ingest(t, s, body, ev)
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Stop(context.Background()) })
		waitStatus(t, s, StatusSynced, "norole000001")
		waitFor(t, 10*time.Second, "the sync", func() bool { _, syncs, _, _, _ := fp.snapshot(); return syncs["norole000001"] == 1 })
		if _, _, grants, _, _ := fp.snapshot(); grants["norole000001"] != 0 {
			t.Errorf("no-role account got the default role")
		}
		mu.Lock()
		clock = clock.Add(2 * time.Hour)
		mu.Unlock()
		if err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events`); n != 0 {
			t.Errorf("events after sweep = %d", n)
		}
	})
}

// TestFutureEventIsNotApplied: a signed event dated 9999-12-31 once set
// the profile clock so far ahead that every later update was ignored.
func TestFutureEventIsNotApplied(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		fp := newFakePermit()
		s := newService(t, testConfig(db, fp), true)
		ctx := context.Background()
		const id = "future000001"
		body, ev := delivery(t, webhook.EventUserCreated, id, "f@example.com", "F", time.Now())
		ingest(t, s, body, ev)
		waitStatus(t, s, StatusSynced, id)

		farBody, farEv := delivery(t, webhook.EventUserDataUpdated, id, "far@example.com", "F", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))
		if o := ingest(t, s, farBody, farEv); o != OutcomeFuture {
			t.Fatalf("event dated 9999-12-31: %s, want future", o)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events WHERE outcome = 'future' AND job_id IS NULL`); n != 1 {
			t.Errorf("future events recorded without a job = %d, want 1", n)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM user_sync WHERE email = 'far@example.com'`); n != 0 {
			t.Error("the future event's email was applied")
		}
		laterBody, laterEv := delivery(t, webhook.EventUserDataUpdated, id, "later@example.com", "F", time.Now())
		if o := ingest(t, s, laterBody, laterEv); o != OutcomeAccepted {
			t.Fatalf("later update: %s, want accepted", o)
		}
		waitFor(t, 30*time.Second, "the later update to reach Permit", func() bool {
			users, _, _, _, _ := fp.snapshot()
			st, _ := s.State(ctx, id)
			return users[id] == "later@example.com" && st.Status == StatusSynced
		})
		// Within the allowed skew an event is still applied.
		nearBody, nearEv := delivery(t, webhook.EventUserDataUpdated, id, "near@example.com", "F", time.Now().Add(MaxEventSkew/2))
		if o := ingest(t, s, nearBody, nearEv); o != OutcomeAccepted {
			t.Fatalf("event a little ahead: %s, want accepted", o)
		}
		ov, err := s.Overview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ov.Counts {
			if c.Kind == string(OutcomeFuture) && (c.Total != 1 || c.Last24h != 1) {
				t.Errorf("future count = %d/%d, want 1/1", c.Last24h, c.Total)
			}
		}
	})
}

// TestPayloadRecordedAsThePersonIsDeletedIsSwept: two replicas ingest at
// once on PostgreSQL. Replica 1 writes a User.Deleted (its transaction is
// still open, after it erased the person's payloads); replica 2 meanwhile
// records a PostSignIn (ignored) about the same person and does not see
// the uncommitted tombstone, nor does the erasure see its row. The sweep
// of deleted people's payloads blanks it.
func TestPayloadRecordedAsThePersonIsDeletedIsSwept(t *testing.T) {
	t.Parallel()
	url := databasetest.OpenURL(t, database.Postgres)
	db1 := openMigrated(t, url)
	db2 := openMigrated(t, url)
	const id = "racepayload1"
	inErase := make(chan struct{})
	release := make(chan struct{})
	cfg1 := testConfig(db1, newFakePermit())
	cfg1.Erase = func(ctx context.Context, tx *sql.Tx, userID string) error {
		close(inErase)
		<-release
		return nil
	}
	s1 := newService(t, cfg1, false)
	s2 := newService(t, testConfig(db2, newFakePermit()), false)

	body, ev := delivery(t, webhook.EventUserCreated, id, "race@example.com", "Race Person", time.Now().Add(-time.Hour))
	if o := ingest(t, s2, body, ev); o != OutcomeAccepted {
		t.Fatalf("created: %s", o)
	}

	delDone := make(chan Outcome, 1)
	go func() {
		body, ev := delivery(t, webhook.EventUserDeleted, id, "race@example.com", "Race Person", time.Now())
		o, err := s1.Ingest(context.Background(), body, ev)
		if err != nil {
			t.Error(err)
		}
		delDone <- o
	}()
	<-inErase
	signInDone := make(chan Outcome, 1)
	go func() {
		body, ev := delivery(t, webhook.EventPostSignIn, id, "race@example.com", "Race Person", time.Now().Add(-time.Minute))
		o, err := s2.Ingest(context.Background(), body, ev)
		if err != nil {
			t.Error(err)
		}
		signInDone <- o
	}()
	select {
	case o := <-signInDone:
		t.Logf("PostSignIn recorded (%s) while the deletion was open", o)
		close(release)
	case <-time.After(5 * time.Second):
		close(release)
		t.Logf("PostSignIn waited for the deletion: %s", <-signInDone)
	}
	t.Logf("deletion: %s", <-delDone)
	if _, err := s2.SweepDeletedPayloads(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db1, `SELECT COUNT(*) FROM webhook_events WHERE user_id = $1 AND payload LIKE '%race@example.com%'`, id); n > 0 {
		t.Errorf("%d stored payloads of the erased person still hold their email", n)
	}
}
