package provision

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/webhook"
)

const (
	sharedEmail = "shared@example.com"
	holderID    = "holder000001"
	newcomerID  = "newcomer0001"
)

// emailReuse starts a service on the Permit stand-in (through the real
// SDK) in which the Permit user holderID already has sharedEmail and the
// analyst role, and a Logto that knows the users in logto.
func emailReuse(t *testing.T, db *database.DB, logto map[string]webhook.User) (*Service, *permitStandin, *fakeLogtoUsers) {
	t.Helper()
	ps := startPermit(t)
	pc := ps.client(t)
	ctx := context.Background()
	if err := pc.SyncUser(ctx, holderID, sharedEmail, "Old Account"); err != nil {
		t.Fatal(err)
	}
	if err := pc.AssignRole(ctx, holderID, "analyst"); err != nil {
		t.Fatal(err)
	}
	dir := &fakeLogtoUsers{users: logto}
	cfg := testConfig(db, pc)
	cfg.Logto = dir
	return newService(t, cfg, true), ps, dir
}

// permitUser reads a Permit user's email and roles from the stand-in.
func permitUser(t *testing.T, ps *permitStandin, key string) (email string, roles []string, found bool) {
	t.Helper()
	email, found = ps.Email(t, key)
	if !found {
		return "", nil, false
	}
	roles, err := ps.client(t).AssignedRoles(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return email, roles, true
}

// registerNewcomer delivers the User.Created of a person who registers
// with the email the old Permit user still holds.
func registerNewcomer(t *testing.T, s *Service) {
	t.Helper()
	body, ev := delivery(t, webhook.EventUserCreated, newcomerID, sharedEmail, "New Account", time.Now())
	if o := ingest(t, s, body, ev); o != OutcomeAccepted {
		t.Fatalf("outcome %s", o)
	}
}

// checkNewcomerReplacedHolder: the former person's Permit user no longer
// holds the email, and the newcomer has it and the default role.
func checkNewcomerReplacedHolder(t *testing.T, s *Service, ps *permitStandin) {
	t.Helper()
	waitStatus(t, s, StatusSynced, newcomerID)
	if email, _, found := permitUser(t, ps, holderID); found && email == sharedEmail {
		t.Errorf("the former person's Permit user still has %s", sharedEmail)
	}
	email, roles, found := permitUser(t, ps, newcomerID)
	if !found || email != sharedEmail || !slices.Equal(roles, []string{"viewer"}) {
		t.Errorf("newcomer in Permit: found %v, email %q, roles %v; want %s with [viewer]", found, email, roles, sharedEmail)
	}
	if n := jobCount(t, s, newcomerID); n != 1 {
		t.Errorf("jobs = %d, want 1", n)
	}
}

// TestEmailOfTombstonedUserIsReused: the holder was deleted in Logto and
// we hold its tombstone, but the deletion never reached Permit.
func TestEmailOfTombstonedUserIsReused(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		s, ps, dir := emailReuse(t, db, nil)
		now := time.Now().UnixMilli()
		// A tombstone whose job never ran (discarded, or swept).
		if _, err := db.ExecContext(context.Background(), `INSERT INTO user_sync (user_id, state, deleted_at, generation, updated_at)
			VALUES ($1, 'failed', $2, 1, $2)`, holderID, now); err != nil {
			t.Fatal(err)
		}
		registerNewcomer(t, s)
		checkNewcomerReplacedHolder(t, s, ps)
		if n := dir.calls.Load(); n != 0 {
			t.Errorf("Logto asked %d times; the tombstone alone decides", n)
		}
	})
}

// TestEmailOfUserGoneFromLogtoIsReused: nothing here says the holder was
// deleted (its User.Deleted was lost), but Logto no longer has it.
func TestEmailOfUserGoneFromLogtoIsReused(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		s, ps, dir := emailReuse(t, db, map[string]webhook.User{})
		registerNewcomer(t, s)
		checkNewcomerReplacedHolder(t, s, ps)
		if dir.calls.Load() == 0 {
			t.Error("Logto was never asked about the holder")
		}
	})
}

// TestEmailOfLivePersonStopsTheJob: the holder is a live person. The job
// must stop at once with the cause in words, not fail 25 times with
// "404 Not Found", and the live person's Permit user must not change.
func TestEmailOfLivePersonStopsTheJob(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		s, ps, dir := emailReuse(t, db, map[string]webhook.User{holderID: {ID: holderID, Email: sharedEmail}})
		ctx := context.Background()
		registerNewcomer(t, s)
		var ov Overview
		waitFor(t, 30*time.Second, "the job to stop", func() bool {
			var err error
			if ov, err = s.Overview(ctx); err != nil {
				t.Fatal(err)
			}
			return len(ov.Failed) == 1
		})
		job := ov.Failed[0]
		if job.UserID != newcomerID || job.State != "cancelled" || job.Attempt != 1 {
			t.Errorf("job = %+v, want cancelled after one attempt", job)
		}
		for _, want := range []string{sharedEmail, "Permit user " + holderID, "is still a person in Logto", "retry this job"} {
			if !strings.Contains(job.LastError, want) {
				t.Errorf("the admin page's error %q does not say %q", job.LastError, want)
			}
		}
		if strings.Contains(job.LastError, "JobCancelError") || strings.Contains(job.LastError, "404") {
			t.Errorf("the admin page's error shows internals: %q", job.LastError)
		}
		st, err := s.State(ctx, newcomerID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != StatusFailed || !strings.Contains(st.LastError, holderID) {
			t.Errorf("state = %+v, want failed naming %s", st, holderID)
		}
		email, roles, found := permitUser(t, ps, holderID)
		if !found || email != sharedEmail || !slices.Equal(roles, []string{"analyst"}) {
			t.Errorf("live holder's Permit user changed: found %v, email %q, roles %v", found, email, roles)
		}
		if _, _, found := permitUser(t, ps, newcomerID); found {
			t.Error("the newcomer was created in Permit")
		}

		// The admin resolves it (the old account is deleted in Logto) and
		// retries the stopped job from the page.
		dir.mu.Lock()
		delete(dir.users, holderID)
		dir.mu.Unlock()
		if err := s.RetryJob(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		checkNewcomerReplacedHolder(t, s, ps)
	})
}
