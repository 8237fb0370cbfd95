package access_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/access"
	"reportgate/internal/audit"
	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/policy"
	"reportgate/internal/testkit"
)

// jobs records the grant jobs enqueued; fail makes the insert fail.
type jobs struct {
	mu   sync.Mutex
	ids  []int64
	fail error
}

func (j *jobs) InsertTx(_ context.Context, _ *sql.Tx, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail != nil {
		return nil, j.fail
	}
	j.ids = append(j.ids, args.(access.GrantArgs).RequestID)
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

// permit counts role assignments; fail makes them fail.
type permit struct {
	mu       sync.Mutex
	assigned []string
	fail     error
}

func (p *permit) AssignRole(_ context.Context, key, role string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.assigned = append(p.assigned, key+":"+role)
	return nil
}

type fixture struct {
	svc   *access.Service
	trail *audit.Trail
	jobs  *jobs
	clock *testkit.Clock
	db    *database.DB
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	pol, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	c := testkit.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	trail := audit.New(db, 0, c.Now)
	j := &jobs{}
	svc := access.New(access.Config{DB: db, Trail: trail, Policy: pol, Jobs: j, Grace: 30 * time.Second, Now: c.Now})
	return &fixture{svc: svc, trail: trail, jobs: j, clock: c, db: db}
}

var (
	nora = access.Person{ID: "nora", Name: "Nora Norole", Email: "norole@example.com"}
	ada  = access.Person{ID: "ada", Name: "Ada Admin", Email: "admin@example.com"}
)

func (f *fixture) actions(t *testing.T) []string {
	t.Helper()
	entries, _, err := f.trail.List(context.Background(), audit.Filter{}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	slices.Reverse(out) // oldest first
	return out
}

func TestOpenRefusesWhatCannotBeRequested(t *testing.T) {
	t.Parallel()
	f := newFixture(t, databasetest.Open(t, database.SQLite))
	ctx := context.Background()
	for _, perm := range []string{"users:manage", "reports:delete", "nonsense", ""} {
		if _, _, err := f.svc.Open(ctx, nora, perm, ""); !errors.Is(err, access.ErrNotRequestable) {
			t.Errorf("Open(%q) = %v, want ErrNotRequestable", perm, err)
		}
	}
	if _, _, err := f.svc.Open(ctx, nora, "reports:view", strings.Repeat("é", access.MaxReason+1)); !errors.Is(err, access.ErrReasonTooLong) {
		t.Errorf("501-character reason: %v, want ErrReasonTooLong", err)
	}
	if r, _, err := f.svc.Open(ctx, nora, "reports:view", "  "+strings.Repeat("é", access.MaxReason)+"  "); err != nil || len([]rune(r.Reason)) != access.MaxReason {
		t.Errorf("500 characters after trimming: %v (%d)", err, len([]rune(r.Reason)))
	}
	if got, want := f.svc.Suggest("reports:view"), "viewer"; got != want {
		t.Errorf("Suggest(reports:view) = %q, want %q", got, want)
	}
	if got, want := f.svc.Suggest("reports:export"), "analyst"; got != want {
		t.Errorf("Suggest(reports:export) = %q, want %q", got, want)
	}
}

func TestDuplicateAndRateLimitedRequests(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		first, created, err := f.svc.Open(ctx, nora, "reports:view", "for the board meeting")
		if err != nil || !created {
			t.Fatalf("first Open = %v, created %v", err, created)
		}
		// Asking again shows the open request and does not count.
		for range 10 {
			again, created, err := f.svc.Open(ctx, nora, "reports:view", "again")
			if err != nil || created || again.ID != first.ID || again.Reason != "for the board meeting" {
				t.Fatalf("repeat Open = %+v, created %v, %v; want the first request", again, created, err)
			}
		}
		// Withdraw and ask again until 5 were opened in 24 h.
		for i := 1; i < access.MaxPerDay; i++ {
			f.clock.Advance(time.Hour)
			last, _, _ := f.svc.Latest(ctx, nora.ID, "reports:view")
			if err := f.svc.Withdraw(ctx, nora, last.ID); err != nil {
				t.Fatalf("withdraw %d: %v", i, err)
			}
			if _, created, err := f.svc.Open(ctx, nora, "reports:view", ""); err != nil || !created {
				t.Fatalf("open %d: %v, created %v", i+1, err, created)
			}
		}
		if _, _, err := f.svc.Open(ctx, nora, "reports:export", ""); !errors.Is(err, access.ErrRateLimited) {
			t.Fatalf("6th request in 24 h: %v, want ErrRateLimited", err)
		}
		// The window rolls: 24 h after the first, one more is allowed.
		f.clock.Set(first.CreatedAt.Add(access.Day + time.Minute))
		if _, created, err := f.svc.Open(ctx, nora, "reports:export", ""); err != nil || !created {
			t.Errorf("after the first left the window: %v, created %v", err, created)
		}
		n, _ := f.svc.CountOpen(ctx)
		if n != 2 {
			t.Errorf("CountOpen = %d, want 2 (view and export)", n)
		}
	})
}

func TestApproveTwiceGrantsOnce(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		req, _, _ := f.svc.Open(ctx, nora, "reports:view", "please")
		got, err := f.svc.Approve(ctx, ada, req.ID, "")
		if err != nil || got.Role != "viewer" || got.State != access.StateApproving {
			t.Fatalf("Approve = %+v, %v; want approving with the suggested viewer", got, err)
		}
		if _, err := f.svc.Approve(ctx, ada, req.ID, "viewer"); !errors.Is(err, access.ErrNotOpen) {
			t.Errorf("second Approve = %v, want ErrNotOpen", err)
		}
		if _, err := f.svc.Deny(ctx, ada, req.ID, "no"); !errors.Is(err, access.ErrNotOpen) {
			t.Errorf("Deny after Approve = %v, want ErrNotOpen", err)
		}
		if len(f.jobs.ids) != 1 {
			t.Fatalf("jobs enqueued = %v, want one", f.jobs.ids)
		}
		if pending, _ := f.svc.Pending(ctx, nora.ID); !pending {
			t.Error("Pending while the grant job is queued = false")
		}
		p := &permit{}
		w := &access.GrantWorker{Service: f.svc, Permit: p, CallTimeout: time.Second}
		job := &river.Job[access.GrantArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 3}, Args: access.GrantArgs{RequestID: req.ID}}
		for range 2 { // a retried or duplicated job grants nothing more
			if err := w.Work(ctx, job); err != nil {
				t.Fatalf("Work: %v", err)
			}
		}
		if !slices.Equal(p.assigned, []string{"nora:viewer"}) {
			t.Errorf("Permit assignments = %v, want one nora:viewer", p.assigned)
		}
		want := []string{audit.RequestOpened, audit.RequestApproved, audit.RoleGranted}
		if got := f.actions(t); !slices.Equal(got, want) {
			t.Errorf("audit = %v, want %v", got, want)
		}
		entries, _, _ := f.trail.List(ctx, audit.Filter{Action: audit.RoleGranted}, 0, 0)
		if e := entries[0]; e.ActorID != ada.ID || e.ActorName != "Ada Admin" || e.SubjectID != nora.ID || e.Role != "viewer" || e.RequestID != req.ID {
			t.Errorf("grant entry = %+v", e)
		}
		final, _ := f.svc.Get(ctx, req.ID)
		if final.State != access.StateApproved {
			t.Errorf("state = %s, want approved", final.State)
		}
		f.clock.Advance(time.Minute) // past the 30 s grace
		if pending, _ := f.svc.Pending(ctx, nora.ID); pending {
			t.Error("Pending after the grace = true")
		}
	})
}

func TestApproveRefusesARoleThatDoesNotGrantThePermission(t *testing.T) {
	t.Parallel()
	f := newFixture(t, databasetest.Open(t, database.SQLite))
	ctx := context.Background()
	req, _, _ := f.svc.Open(ctx, nora, "reports:export", "")
	for _, role := range []string{"viewer", "nosuchrole"} {
		if _, err := f.svc.Approve(ctx, ada, req.ID, role); !errors.Is(err, access.ErrWrongRole) {
			t.Errorf("Approve with %s = %v, want ErrWrongRole", role, err)
		}
	}
	if got, _ := f.svc.Get(ctx, req.ID); got.State != access.StateOpen {
		t.Errorf("state after refusals = %s, want open", got.State)
	}
	if got, err := f.svc.Approve(ctx, ada, req.ID, "admin"); err != nil || got.Role != "admin" {
		t.Errorf("Approve with admin (grants export too) = %+v, %v", got, err)
	}
}

func TestDeclineThenAskAgainAfter24Hours(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		req, _, _ := f.svc.Open(ctx, nora, "reports:view", "")
		if _, err := f.svc.Deny(ctx, ada, req.ID, "Ask your manager first"); err != nil {
			t.Fatal(err)
		}
		last, _, _ := f.svc.Latest(ctx, nora.ID, "reports:view")
		if last.State != access.StateDeclined || last.Note != "Ask your manager first" {
			t.Fatalf("latest = %+v", last)
		}
		f.clock.Advance(access.AskAgainAfter - time.Second)
		if _, _, err := f.svc.Open(ctx, nora, "reports:view", ""); !errors.Is(err, access.ErrTooSoon) {
			t.Fatalf("asking 1 s before 24 h = %v, want ErrTooSoon", err)
		}
		f.clock.Advance(time.Second)
		if _, created, err := f.svc.Open(ctx, nora, "reports:view", ""); err != nil || !created {
			t.Fatalf("asking after 24 h = %v, created %v", err, created)
		}
		want := []string{audit.RequestOpened, audit.RequestDeclined, audit.RequestOpened}
		if got := f.actions(t); !slices.Equal(got, want) {
			t.Errorf("audit = %v, want %v", got, want)
		}
	})
}

// TestAuditIsWrittenInTheSameTransaction: when part of an approval fails
// (here the job insert), neither the state change nor its audit entry
// lands; when a state change finds the request decided, no entry is
// written either.
func TestAuditIsWrittenInTheSameTransaction(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		req, _, _ := f.svc.Open(ctx, nora, "reports:view", "")
		f.jobs.fail = errors.New("queue unavailable")
		if _, err := f.svc.Approve(ctx, ada, req.ID, ""); err == nil {
			t.Fatal("Approve with a failing queue succeeded")
		}
		if got, _ := f.svc.Get(ctx, req.ID); got.State != access.StateOpen {
			t.Errorf("state = %s, want open (rolled back)", got.State)
		}
		if got := f.actions(t); !slices.Equal(got, []string{audit.RequestOpened}) {
			t.Errorf("audit = %v, want only request.opened", got)
		}
		// The audit insert itself failing rolls the change back too.
		if _, err := db.ExecContext(ctx, `DROP TABLE audit_entries`); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Deny(ctx, ada, req.ID, "no"); err == nil {
			t.Fatal("Deny without an audit table succeeded")
		}
		if got, _ := f.svc.Get(ctx, req.ID); got.State != access.StateOpen {
			t.Errorf("state after a failed audit = %s, want open", got.State)
		}
	})
}

func TestGrantOutOfAttemptsIsRecordedAsFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, databasetest.Open(t, database.SQLite))
	ctx := context.Background()
	req, _, _ := f.svc.Open(ctx, nora, "reports:view", "")
	f.svc.Approve(ctx, ada, req.ID, "")
	w := &access.GrantWorker{Service: f.svc, Permit: &permit{fail: errors.New("permit down")}, CallTimeout: time.Second}
	job := &river.Job[access.GrantArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 2}, Args: access.GrantArgs{RequestID: req.ID}}
	if err := w.Work(ctx, job); err == nil {
		t.Fatal("Work with Permit down succeeded")
	}
	if got, _ := f.svc.Get(ctx, req.ID); got.State != access.StateApproving {
		t.Fatalf("after a retryable failure: %s, want approving", got.State)
	}
	job.Attempt = 2
	if err := w.Work(ctx, job); err == nil {
		t.Fatal("last attempt succeeded")
	}
	if got, _ := f.svc.Get(ctx, req.ID); got.State != access.StateFailed {
		t.Errorf("after the last attempt: %s, want failed", got.State)
	}
	want := []string{audit.RequestOpened, audit.RequestApproved, audit.RequestFailed}
	if got := f.actions(t); !slices.Equal(got, want) {
		t.Errorf("audit = %v, want %v", got, want)
	}
}

func TestEraseClearsTheirFreeText(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		req, _, _ := f.svc.Open(ctx, nora, "reports:view", "personal reason")
		f.svc.Deny(ctx, ada, req.ID, "note about Nora")
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(access.EraseTx(ctx, tx, nora.ID), audit.EraseTx(ctx, tx, nora.ID)); err != nil {
			t.Fatal(err)
		}
		tx.Commit()
		got, _ := f.svc.Get(ctx, req.ID)
		if got.Reason != "" || got.Note != "" || got.UserName != "" || got.UserEmail != "" || got.DecidedByName != "Ada Admin" {
			t.Errorf("after erasure: %+v", got)
		}
	})
}

// TestErasureWithdrawsOpenAndApprovingRequests: a deleted person's open
// request leaves the admins' queue, and an approved one still being
// granted assigns nothing to someone Permit is deleting.
func TestErasureWithdrawsOpenAndApprovingRequests(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		open, _, err := f.svc.Open(ctx, nora, "reports:view", "please")
		if err != nil {
			t.Fatal(err)
		}
		approving, _, err := f.svc.Open(ctx, nora, "reports:export", "please")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Approve(ctx, ada, approving.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return access.EraseTx(ctx, tx, nora.ID) }); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{open.ID, approving.ID} {
			if got, _ := f.svc.Get(ctx, id); got.State != access.StateWithdrawn {
				t.Errorf("request %d after erasure: state %s, want withdrawn", id, got.State)
			}
		}
		p := &permit{}
		w := &access.GrantWorker{Service: f.svc, Permit: p, CallTimeout: time.Second}
		job := &river.Job[access.GrantArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5},
			Args: access.GrantArgs{RequestID: approving.ID}}
		if err := w.Work(ctx, job); err != nil {
			t.Fatal(err)
		}
		if len(p.assigned) != 0 {
			t.Errorf("the grant job assigned %v to an erased person", p.assigned)
		}
	})
}

// erasingPermit erases the requester (as an ingested User.Deleted does, in
// its own transaction) while the grant's AssignRole is in flight.
type erasingPermit struct {
	db *database.DB
	t  *testing.T
}

func (p erasingPermit) AssignRole(ctx context.Context, key, role string) error {
	if err := p.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := audit.EraseTx(ctx, tx, key); err != nil {
			return err
		}
		return access.EraseTx(ctx, tx, key)
	}); err != nil {
		p.t.Fatal(err)
	}
	return nil
}

// TestGrantEntryDoesNotNameAPersonErasedDuringTheCall: the grant job reads
// the request (with the requester's name), calls Permit, then writes the
// role.granted entry. The requester is erased while the call is in flight
// (as the tombstone transaction does, audit.EraseTx then access.EraseTx):
// the entry must not name them again.
func TestGrantEntryDoesNotNameAPersonErasedDuringTheCall(t *testing.T) {
	db := databasetest.Open(t, database.SQLite)
	f := newFixture(t, db)
	ctx := context.Background()
	req, _, err := f.svc.Open(ctx, nora, "reports:view", "please")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(ctx, ada, req.ID, ""); err != nil {
		t.Fatal(err)
	}
	w := &access.GrantWorker{Service: f.svc, Permit: erasingPermit{db: db, t: t}, CallTimeout: 1e9}
	job := &river.Job[access.GrantArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5},
		Args: access.GrantArgs{RequestID: req.ID}}
	if err := w.Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	entries, _, err := f.trail.List(ctx, audit.Filter{Person: nora.ID}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.SubjectID == nora.ID && e.SubjectName != "" {
			t.Errorf("after nora's erasure the trail names her: action %s, subject_name %q", e.Action, e.SubjectName)
		}
	}
}
