package provision

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"reportgate/internal/audit"
	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/webhook"
)

// TestDeletionErasesInTheTombstoneTransaction: the Erase hook runs in the
// tombstone's transaction, so a failing erasure leaves no tombstone, and a
// deletion leaves none of the person's personal data in the audit trail.
func TestDeletionErasesInTheTombstoneTransaction(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		trail := audit.New(db, 0, nil)
		const id = "erased000001"
		trail.Record(ctx, audit.Entry{ActorID: id, ActorName: "Gone", Action: audit.RequestOpened, SubjectID: id,
			SubjectName: "Gone", Detail: "my reason"})
		failing := true
		cfg := testConfig(db, newFakePermit())
		cfg.Erase = func(ctx context.Context, tx *sql.Tx, userID string) error {
			if failing {
				return errors.New("erasure failed")
			}
			return audit.EraseTx(ctx, tx, userID)
		}
		s := newService(t, cfg, false)
		body, ev := delivery(t, webhook.EventUserDeleted, id, "gone@example.com", "Gone", time.Now())
		if _, err := s.Ingest(ctx, body, ev); err == nil {
			t.Fatal("Ingest with a failing erasure succeeded")
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM user_sync WHERE user_id = $1 AND deleted_at IS NOT NULL`, id); n != 0 {
			t.Fatalf("tombstone written without its erasure")
		}
		failing = false
		if o := ingest(t, s, body, ev); o != OutcomeAccepted {
			t.Fatalf("ingest: %s", o)
		}
		entries, _, _ := trail.List(ctx, audit.Filter{Person: id}, 0, 0)
		if len(entries) != 1 || entries[0].ActorName != "" || entries[0].SubjectName != "" || entries[0].Detail != "" {
			t.Errorf("after deletion: %+v, want the entry kept without name or reason", entries)
		}
	})
}

// TestGrantEntryDoesNotNameAPersonDeletedDuringTheGrant: the person's
// User.Deleted is ingested while their sync job is in AssignRole, so the
// erasure (audit.EraseTx in the tombstone transaction) runs before the
// job records the grant. The entry, committed even though the job then
// snoozes, must not name the erased person: deleting a person keeps their
// entries but erases their name.
func TestGrantEntryDoesNotNameAPersonDeletedDuringTheGrant(t *testing.T) {
	db := databasetest.Open(t, database.SQLite)
	ctx := context.Background()
	trail := audit.New(db, 0, nil)
	p := newFakePermit()
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	p.AssignRoleFunc = func(ctx context.Context, key, role string) error {
		once.Do(func() { close(entered); <-release })
		return nil
	}
	cfg := testConfig(db, p)
	cfg.Audit = trail
	cfg.Erase = audit.EraseTx
	s := newService(t, cfg, true)
	const id = "erasedrace01"
	body, ev := delivery(t, webhook.EventUserCreated, id, "ada@example.com", "Ada Lovelace", time.Now().Add(-time.Second))
	ingest(t, s, body, ev)
	<-entered
	body, ev = delivery(t, webhook.EventUserDeleted, id, "ada@example.com", "Ada Lovelace", time.Now())
	if o := ingest(t, s, body, ev); o != OutcomeAccepted {
		t.Fatalf("deletion: %s", o)
	}
	close(release)
	waitStatus(t, s, StatusDeleted, id)
	waitFor(t, 30*time.Second, "the deletion synced", func() bool {
		return countRows(t, db, `SELECT COUNT(*) FROM user_sync WHERE user_id = $1 AND state = 'deleted'`, id) == 1
	})
	entries, _, err := trail.List(ctx, audit.Filter{Person: id}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.SubjectName != "" || e.ActorName != "" {
			t.Errorf("after the person's erasure the trail still names them: action %s, subject_name %q, actor_name %q",
				e.Action, e.SubjectName, e.ActorName)
		}
	}
}

// TestJobsAuditTheDefaultRoleAndRevokedSessions: the default role at
// sign-up and sessions ended by a suspension are recorded, actor system,
// after the call.
func TestJobsAuditTheDefaultRoleAndRevokedSessions(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	ctx := context.Background()
	trail := audit.New(db, 0, nil)
	cfg := testConfig(db, newFakePermit())
	cfg.Audit = trail
	s := newService(t, cfg, true)
	const id = "audited00001"
	body, ev := delivery(t, webhook.EventUserCreated, id, "a@example.com", "Ada", time.Now().Add(-time.Second))
	ingest(t, s, body, ev)
	waitStatus(t, s, StatusSynced, id)
	body, ev = delivery(t, webhook.EventUserSuspension, id, "a@example.com", "Ada", time.Now(), suspended(true))
	ingest(t, s, body, ev)
	var entries []audit.Entry
	waitFor(t, 30*time.Second, "sessions.revoked entry", func() bool {
		entries, _, _ = trail.List(ctx, audit.Filter{Person: id, Action: audit.SessionsRevoked}, 0, 0)
		return len(entries) > 0
	})
	if e := entries[0]; e.ActorID != audit.ActorSystem || e.SubjectName != "Ada" {
		t.Errorf("sessions.revoked = %+v", e)
	}
	granted, _, _ := trail.List(ctx, audit.Filter{Person: id, Action: audit.RoleGranted}, 0, 0)
	if len(granted) != 1 || granted[0].Role != DefaultRole || granted[0].ActorID != audit.ActorSystem {
		t.Errorf("role.granted entries = %+v, want one default-role grant by system", granted)
	}
}

// TestSessionsEndedAtIngestAreAudited: the sessions a suspension ends at
// once, before any job runs, are in the trail.
func TestSessionsEndedAtIngestAreAudited(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	trail := audit.New(db, 0, nil)
	cfg := testConfig(db, newFakePermit())
	cfg.Audit = trail
	s := newService(t, cfg, false) // no workers: only Ingest's own revocation
	const id = "suspended001"
	body, ev := delivery(t, webhook.EventUserSuspension, id, "s@example.com", "Sus", time.Now(), suspended(true))
	if o := ingest(t, s, body, ev); o != OutcomeAccepted {
		t.Fatalf("ingest: %s", o)
	}
	entries, _, _ := trail.List(context.Background(), audit.Filter{Action: audit.SessionsRevoked}, 0, 0)
	if len(entries) != 1 || entries[0].SubjectID != id || entries[0].SubjectName != "Sus" || entries[0].ActorID != audit.ActorSystem {
		t.Errorf("sessions.revoked entries = %+v, want one about %s by system", entries, id)
	}
}

// TestGrantStaysRecordedWhenTheUserChangesMeanwhile: an event arrives
// while the job is granting the default role, so the job snoozes instead
// of completing. The grant and its audit entry are committed all the same:
// the re-run grants nothing again and the trail holds one grant.
func TestGrantStaysRecordedWhenTheUserChangesMeanwhile(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		ctx := context.Background()
		trail := audit.New(db, 0, nil)
		permit := newFakePermit()
		cfg := testConfig(db, permit)
		cfg.Audit = trail
		const id = "changedmid01"
		now := time.Now()
		upBody, upEv := delivery(t, webhook.EventUserDataUpdated, id, "new@example.com", "Newer", now)
		var s *Service
		var once sync.Once
		permit.AssignRoleFunc = func(ctx context.Context, _, _ string) error {
			once.Do(func() {
				if _, err := s.Ingest(ctx, upBody, upEv); err != nil {
					t.Errorf("ingest during the grant: %v", err)
				}
			})
			return nil
		}
		s = newService(t, cfg, true)
		body, ev := delivery(t, webhook.EventUserCreated, id, "old@example.com", "Older", now.Add(-time.Second))
		ingest(t, s, body, ev)
		waitFor(t, 30*time.Second, "the changed user to sync", func() bool {
			st, err := s.State(ctx, id)
			users, _, _, _, _ := permit.snapshot()
			return err == nil && st.Status == StatusSynced && users[id] == "new@example.com"
		})
		if _, _, grants, _, _ := permit.snapshot(); grants[id] != 1 {
			t.Errorf("default role granted %d times, want 1", grants[id])
		}
		granted, _, err := trail.List(ctx, audit.Filter{Person: id, Action: audit.RoleGranted}, 0, 0)
		if err != nil || len(granted) != 1 {
			t.Errorf("role.granted entries = %+v (%v), want one", granted, err)
		}
	})
}
