package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/provision"
)

// fakeSync is a SyncAdmin with one failed job.
type fakeSync struct {
	mu      sync.Mutex
	retried []int64
}

func (f *fakeSync) OverviewOf(context.Context, provision.OverviewQuery) (provision.Overview, error) {
	return provision.Overview{
		Counts: []provision.KindCount{{Kind: "accepted", Last24h: 3, Total: 9}},
		Recent: []provision.EventSummary{{ID: 1, Event: "User.Created", UserID: "u1", Outcome: "accepted", ReceivedAt: time.Now()}},
		Failed: []provision.JobSummary{{ID: 42, UserID: "u1", State: "discarded", Attempt: 25, MaxAttempts: 25, LastError: "permit API unavailable: 503"}},
	}, nil
}

func (f *fakeSync) FailedJobs(context.Context) (int, error) { return 1, nil }

func (f *fakeSync) RetryJob(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, id)
	return nil
}

func TestAdminSyncShowsJobsAndRetries(t *testing.T) {
	t.Parallel()
	sync := &fakeSync{}
	e := newEnv(t, envOptions{sync: sync})
	for range 2 {
		deliverTo(t, e.app.URL, userCreated, "00") // forged: counted in memory only
	}
	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	p := admin.get(e.app.URL + "/admin/sync")
	if p.Status != http.StatusOK || testid(p, "admin-sync").Length() != 1 {
		t.Fatalf("status %d", p.Status)
	}
	if got := p.Doc.Find(`[data-testid="event-count"][data-kind="accepted"] .stat-value`).Text(); got != "3" {
		t.Errorf("accepted in 24 h = %q", got)
	}
	forged := p.Doc.Find(`[data-testid="event-count"][data-kind="rejected_signature"]`)
	if got := forged.Find(".stat-value").Text(); got != "2" || forged.Find(`[data-testid="per-replica"]`).Length() != 1 {
		t.Errorf("rejected_signature in 24 h = %q, or not marked as this server's count", got)
	}
	if !strings.Contains(p.Doc.Text(), "permit API unavailable: 503") || testid(p, "retry-job").Length() != 1 {
		t.Fatal("the failed job, its error or its retry button is missing")
	}
	action, _ := testid(p, "retry-job").Closest("form").Attr("action")
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+action, nil)
	req.Header.Set("Origin", e.app.URL)
	after := admin.do(req)
	if after.Status != http.StatusOK || len(sync.retried) != 1 || sync.retried[0] != 42 {
		t.Fatalf("retry: status %d, retried %v", after.Status, sync.retried)
	}
	if !strings.Contains(after.Doc.Text(), "Job 42 queued again") {
		t.Error("no confirmation after retry")
	}

	viewer := e.browser()
	viewer.signIn(e, "", "viewer@example.com", "demo-password")
	if p := viewer.get(e.app.URL + "/admin/sync"); p.Status != http.StatusForbidden {
		t.Fatalf("viewer on /admin/sync: %d", p.Status)
	}
}

// noPermit is a provision.Permit for a service whose jobs never run.
type noPermit struct{}

func (noPermit) SyncUser(context.Context, string, string, string) error { return nil }
func (noPermit) AssignRole(context.Context, string, string) error       { return nil }
func (noPermit) DeleteUser(context.Context, string) error               { return nil }

// TestAdminSyncRetryOfUnknownJobIsNotFound: retrying a job that does not
// exist (or an id that is no number) answered 500; it is the 404 page.
func TestAdminSyncRetryOfUnknownJobIsNotFound(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	if err := provision.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	svc, err := provision.New(provision.Config{DB: db, Permit: noPermit{}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{sync: svc})
	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	for _, id := range []string{"987654", "abc", "-1"} {
		req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/admin/sync/jobs/"+id+"/retry", nil)
		req.Header.Set("Origin", e.app.URL)
		p := admin.do(req)
		if p.Status != http.StatusNotFound || !strings.Contains(p.Doc.Find("h1").Text(), "No such sync job") {
			t.Errorf("retry of job %s: status %d, heading %q; want the 404 page", id, p.Status, p.Doc.Find("h1").Text())
		}
	}
}
