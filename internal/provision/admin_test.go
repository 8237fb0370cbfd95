package provision

import (
	"context"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/webhook"
)

// TestAdminPageQueries: the sync states of many people in one call, the
// failed-job count behind the admin badge, and recent events without the
// ignored ones.
func TestAdminPageQueries(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := newService(t, testConfig(db, newFakePermit()), false) // jobs stay queued
		for _, id := range []string{"admq00000001", "admq00000002"} {
			body, ev := delivery(t, webhook.EventUserCreated, id, id+"@example.com", "Q", time.Now())
			if o := ingest(t, s, body, ev); o != OutcomeAccepted {
				t.Fatalf("ingest %s: %s", id, o)
			}
		}
		body, ev := delivery(t, webhook.EventPostSignIn, "admq00000001", "q@example.com", "Q", time.Now())
		if o := ingest(t, s, body, ev); o != OutcomeIgnored {
			t.Fatalf("PostSignIn: %s", o)
		}

		states, err := s.States(ctx, []string{"admq00000001", "admq00000002", "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		if states["admq00000001"].Status != StatusQueued || states["admq00000002"].Status != StatusQueued ||
			states["nobody"].Status != StatusUnknown || len(states) != 3 {
			t.Errorf("States = %+v", states)
		}

		all, err := s.Overview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		acted, err := s.OverviewOf(ctx, OverviewQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Recent) != 3 || len(acted.Recent) != 2 {
			t.Fatalf("recent: %d with ignored, %d without; want 3 and 2", len(all.Recent), len(acted.Recent))
		}
		for _, e := range acted.Recent {
			if e.Outcome == string(OutcomeIgnored) {
				t.Errorf("ignored event listed: %+v", e)
			}
		}

		if n, err := s.FailedJobs(ctx); err != nil || n != 0 {
			t.Fatalf("FailedJobs = %d, %v before any failure", n, err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = $1
			WHERE id = (SELECT MIN(id) FROM river_job)`, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if n, err := s.FailedJobs(ctx); err != nil || n != 1 {
			t.Fatalf("FailedJobs = %d, %v; want 1", n, err)
		}
	})
}
