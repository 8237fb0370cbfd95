package provision

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/webhook"
)

// failUserSync makes every user_sync write for userID fail inside the
// database, as a constraint violation or a lost connection would.
func failUserSync(t *testing.T, db *database.DB, userID string) {
	t.Helper()
	var ddl []string
	switch db.Dialect {
	case database.SQLite:
		ddl = []string{fmt.Sprintf(`CREATE TRIGGER fail_user BEFORE INSERT ON user_sync
			WHEN NEW.user_id = '%s' BEGIN SELECT RAISE(ABORT, 'forced failure'); END`, userID)}
	case database.Postgres:
		ddl = []string{
			fmt.Sprintf(`CREATE FUNCTION fail_user() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.user_id = '%s' THEN RAISE EXCEPTION 'forced failure'; END IF;
				RETURN NEW;
			END $$`, userID),
			`CREATE TRIGGER fail_user BEFORE INSERT ON user_sync FOR EACH ROW EXECUTE FUNCTION fail_user()`,
		}
	}
	for _, q := range ddl {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBatchIsolatesFailingAndDuplicateDelivery writes two batches. The
// first holds good deliveries, a replay of an earlier one, the same new
// body twice, and a deletion of a user created in the batch: the replay
// and the second copy are duplicates, the rest are committed with jobs.
// The second holds a delivery the database refuses between good ones:
// only that one fails.
func TestBatchIsolatesFailingAndDuplicateDelivery(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		s := newService(t, testConfig(db, newFakePermit()), false)
		failUserSync(t, db, "userboom0001")
		ctx := context.Background()
		now := time.Now()

		type in struct {
			user string
			body []byte
			ev   webhook.Event
			want Outcome // "" wants an error
		}
		created := func(user string, want Outcome) in {
			body, ev := delivery(t, webhook.EventUserCreated, user, user+"@example.com", "N", now)
			return in{user, body, ev, want}
		}
		write := func(batch []in) {
			t.Helper()
			pending := make([]*pendingDelivery, len(batch))
			for i, b := range batch {
				pending[i] = s.prepare(ctx, b.body, b.ev)
			}
			s.ingestBatch(func() []*pendingDelivery { return pending })
			for i, d := range pending {
				r, b := <-d.done, batch[i]
				switch {
				case b.want == "" && r.err == nil:
					t.Errorf("delivery %d (%s): acknowledged as %s, want an error", i, b.user, r.outcome)
				case b.want == "" && !strings.Contains(r.err.Error(), "forced failure"):
					t.Errorf("delivery %d (%s): err = %v, want the forced failure", i, b.user, r.err)
				case b.want != "" && r.err != nil:
					t.Errorf("delivery %d (%s): err = %v, want %s", i, b.user, r.err, b.want)
				case b.want != "" && r.outcome != b.want:
					t.Errorf("delivery %d (%s): outcome = %s, want %s", i, b.user, r.outcome, b.want)
				case r.revoke != (b.ev.Name == webhook.EventUserDeleted):
					t.Errorf("delivery %d (%s): revoke = %v", i, b.user, r.revoke)
				}
			}
		}

		old := created("userold00001", OutcomeAccepted)
		ingest(t, s, old.body, old.ev)
		replay := old
		replay.want = OutcomeDuplicate
		good2 := created("usergood0002", OutcomeAccepted)
		copy2 := good2
		copy2.want = OutcomeDuplicate
		delBody, delEv := delivery(t, webhook.EventUserDeleted, "usergood0003", "", "", now.Add(time.Second))
		write([]in{
			created("usergood0001", OutcomeAccepted), replay, good2, copy2,
			created("usergood0003", OutcomeAccepted), {"usergood0003", delBody, delEv, OutcomeAccepted},
		})
		write([]in{created("usergood0004", OutcomeAccepted), created("userboom0001", ""), created("usergood0005", OutcomeAccepted)})

		for u, events := range map[string]int{"usergood0001": 1, "usergood0002": 1, "usergood0003": 2,
			"usergood0004": 1, "usergood0005": 1, "userold00001": 1} {
			if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events WHERE user_id = $1 AND job_id IS NOT NULL`, u); n != events {
				t.Errorf("%s: %d event rows with a job, want %d", u, n, events)
			}
			if n := jobCount(t, s, u); n != 1 {
				t.Errorf("%s: %d jobs, want 1", u, n)
			}
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM user_sync WHERE user_id = 'usergood0003' AND deleted_at IS NOT NULL`); n != 1 {
			t.Error("the deletion in the batch left no tombstone")
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events WHERE user_id = 'usergood0003' AND payload <> ''`); n != 0 {
			t.Errorf("the deletion in the batch left %d payloads of the user", n)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events WHERE user_id = 'userboom0001'`); n != 0 {
			t.Errorf("failed delivery left %d event rows", n)
		}
		if n := jobCount(t, s, "userboom0001"); n != 0 {
			t.Errorf("failed delivery left %d jobs", n)
		}
		if n := countRows(t, db, `SELECT COALESCE(SUM(n), 0) FROM webhook_counts WHERE kind = 'duplicate'`); n != 2 {
			t.Errorf("duplicates counted = %d, want 2", n)
		}
		if n := countRows(t, db, `SELECT COALESCE(SUM(n), 0) FROM webhook_counts WHERE kind = 'accepted'`); n != 7 {
			t.Errorf("accepted counted = %d, want 7", n)
		}
	})
}

// TestBatchAppliesEveryProfileOfAUser writes, in one batch, three
// profile events of each of two users (their first, second and third
// upserts), in arrival orders that differ from their event times: each
// user ends with the name of their latest event, every event is accepted
// with the user's one job, and the generation counts every change.
func TestBatchAppliesEveryProfileOfAUser(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		s := newService(t, testConfig(db, newFakePermit()), false)
		ctx := context.Background()
		now := time.Now()
		var pending []*pendingDelivery
		add := func(event, user, name string, at time.Duration) {
			body, ev := delivery(t, event, user, user+"@example.com", name, now.Add(at))
			pending = append(pending, s.prepare(ctx, body, ev))
		}
		add(webhook.EventUserCreated, "userrounds01", "first", 0)
		add(webhook.EventUserDataUpdated, "userrounds01", "latest", 2*time.Second)
		add(webhook.EventPostRegister, "userrounds01", "middle", time.Second)
		add(webhook.EventUserDataUpdated, "userrounds02", "latest", 2*time.Second)
		add(webhook.EventUserCreated, "userrounds02", "first", 0)
		add(webhook.EventPostRegister, "userrounds02", "middle", time.Second)
		s.ingestBatch(func() []*pendingDelivery { return pending })
		for i, d := range pending {
			if r := <-d.done; r.err != nil || r.outcome != OutcomeAccepted {
				t.Errorf("delivery %d: %s, %v; want accepted", i, r.outcome, r.err)
			}
		}
		for _, u := range []string{"userrounds01", "userrounds02"} {
			var name string
			var generation int
			if err := db.QueryRowContext(ctx, `SELECT name, generation FROM user_sync WHERE user_id = $1`, u).
				Scan(&name, &generation); err != nil {
				t.Fatal(err)
			}
			if name != "latest" || generation != 3 {
				t.Errorf("%s: name %q generation %d, want \"latest\" and 3", u, name, generation)
			}
			if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events WHERE user_id = $1 AND job_id IS NOT NULL`, u); n != 3 {
				t.Errorf("%s: %d event rows with a job, want 3", u, n)
			}
			if n := jobCount(t, s, u); n != 1 {
				t.Errorf("%s: %d jobs, want 1", u, n)
			}
		}
	})
}

// TestConcurrentBurstIsRecordedOnce sends N distinct deliveries at once,
// two per user (User.Created and PostRegister), through Ingest: exactly N
// event rows, each pointing at its user's one job.
func TestConcurrentBurstIsRecordedOnce(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		s := newService(t, testConfig(db, newFakePermit()), false)
		const users = 50
		now := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 2*users)
		for i := range users {
			id := fmt.Sprintf("burst%07d", i)
			for _, name := range []string{webhook.EventUserCreated, webhook.EventPostRegister} {
				body, ev := delivery(t, name, id, id+"@example.com", "B", now)
				wg.Go(func() {
					o, err := s.Ingest(context.Background(), body, ev)
					if err == nil && o != OutcomeAccepted {
						err = fmt.Errorf("%s %s: outcome %s", name, id, o)
					}
					if err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events`); n != 2*users {
			t.Errorf("event rows = %d, want %d", n, 2*users)
		}
		if n := countRows(t, db, `SELECT COUNT(DISTINCT job_id) FROM webhook_events`); n != users {
			t.Errorf("distinct jobs of the events = %d, want %d", n, users)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = $1`, jobKind); n != users {
			t.Errorf("jobs = %d, want %d (one per user)", n, users)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM user_sync WHERE generation = 2`); n != users {
			t.Errorf("users at generation 2 = %d, want %d", n, users)
		}
	})
}

const ingestChildEnv = "PROVISION_INGEST_CHILD_DB"

// TestIngestChild is the ingesting process of
// TestAcknowledgedDeliveriesSurviveSIGKILL, re-executed from the test
// binary: 16 senders ingest until it is killed, and each acknowledged
// user id is printed only after Ingest returned.
func TestIngestChild(t *testing.T) {
	dbURL := os.Getenv(ingestChildEnv)
	if dbURL == "" {
		t.Skip("runs only as TestAcknowledgedDeliveriesSurviveSIGKILL's subprocess")
	}
	db, err := database.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, testConfig(db, newFakePermit()), false)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("kill%02d%07d", w, i)
				body, ev := delivery(t, webhook.EventUserCreated, id, id+"@example.com", "K", time.Now())
				if _, err := s.Ingest(context.Background(), body, ev); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Println("acked", id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestAcknowledgedDeliveriesSurviveSIGKILL kills a process in the middle
// of a burst of batched ingests and checks that every delivery it
// acknowledged is in the database with its job.
func TestAcknowledgedDeliveriesSurviveSIGKILL(t *testing.T) {
	if os.Getenv(ingestChildEnv) != "" {
		t.Skip("child")
	}
	t.Parallel()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) { killIngester(t, d) })
	}
}

// killIngester runs TestAcknowledgedDeliveriesSurviveSIGKILL on dialect d.
func killIngester(t *testing.T, d database.Dialect) {
	dbURL := databasetest.OpenURL(t, d)
	db := openMigrated(t, dbURL)
	newService(t, testConfig(db, newFakePermit()), false) // migrates River's tables

	child, out := startChild(t, "TestIngestChild", ingestChildEnv+"="+dbURL)
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 100 {
		if id, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked = append(acked, id)
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Acknowledgements printed between the last read and the kill.
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked = append(acked, id)
		}
	}
	child.Wait()
	if len(acked) < 100 {
		t.Fatalf("the child acknowledged only %d deliveries before it ended", len(acked))
	}
	for _, id := range acked {
		if n := countRows(t, db, `SELECT COUNT(*) FROM webhook_events e JOIN river_job j ON j.id = e.job_id
			WHERE e.user_id = $1`, id); n != 1 {
			t.Errorf("acknowledged %s: %d event rows with a job after SIGKILL, want 1", id, n)
		}
	}
	t.Logf("%d acknowledged before SIGKILL; %d event rows in the database", len(acked),
		countRows(t, db, `SELECT COUNT(*) FROM webhook_events`))
}

// deadlockCounter counts the batches that failed with a deadlock.
type deadlockCounter struct {
	n atomic.Int64
}

func (c *deadlockCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *deadlockCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "batch of deliveries failed") {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" && strings.Contains(a.Value.String(), "deadlock") {
				c.n.Add(1)
			}
			return true
		})
	}
	return nil
}
func (c *deadlockCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *deadlockCounter) WithGroup(string) slog.Handler      { return c }

// TestConcurrentBatchesDoNotDeadlockOnCounts: two replicas ingest batches
// that each hold an accepted and an ignored delivery at once. Had the
// batches upserted their webhook_counts rows in differing orders (Go map
// order), two of them would lock the two rows in opposite orders and
// PostgreSQL would abort one as a deadlock (after deadlock_timeout, 1 s by
// default), writing its whole batch again one delivery per transaction.
func TestConcurrentBatchesDoNotDeadlockOnCounts(t *testing.T) {
	url := databasetest.OpenURL(t, database.Postgres)
	counter := &deadlockCounter{}
	var replicas []*Service
	for range 2 {
		db := openMigrated(t, url)
		cfg := testConfig(db, newFakePermit())
		cfg.Logger = slog.New(counter)
		replicas = append(replicas, newService(t, cfg, false))
	}
	ctx := context.Background()
	start := time.Now()
	for round := range 10 {
		var wg sync.WaitGroup
		for i := range 48 {
			event := webhook.EventUserCreated
			if i%2 == 1 {
				event = webhook.EventPostSignIn
			}
			id := fmt.Sprintf("dl%02d%03d", round, i)
			body, ev := delivery(t, event, id, id+"@example.com", "P", time.Now())
			s := replicas[(i/2)%2]
			wg.Go(func() {
				if _, err := s.Ingest(ctx, body, ev); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if n := counter.n.Load(); n > 0 {
		t.Errorf("%d batches failed with a deadlock and were re-written one by one (%s for 480 deliveries)", n, time.Since(start))
	}
}
