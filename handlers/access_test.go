package handlers_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/access"
	"reportgate/internal/audit"
)

// grantQueue stands in for River: it keeps the grant jobs enqueued, and
// runGrants runs them as the worker would.
type grantQueue struct {
	mu     sync.Mutex
	ids    []int64
	worker *access.GrantWorker
}

func (q *grantQueue) InsertTx(_ context.Context, _ *sql.Tx, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, args.(access.GrantArgs).RequestID)
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

func (e *env) runGrants() {
	e.t.Helper()
	e.grants.mu.Lock()
	ids := e.grants.ids
	e.grants.ids = nil
	e.grants.mu.Unlock()
	for _, id := range ids {
		job := &river.Job[access.GrantArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 3}, Args: access.GrantArgs{RequestID: id}}
		if err := e.grants.worker.Work(context.Background(), job); err != nil {
			e.t.Fatalf("grant job %d: %v", id, err)
		}
	}
}

func (e *env) userID(email string) string {
	e.t.Helper()
	u, ok := e.logto.UserByEmail(email)
	if !ok {
		e.t.Fatalf("no stand-in user %s", email)
	}
	return u.ID
}

// TestAccessRequestApprovedWithoutSigningOut walks the whole request: the
// denied page offers the form, then shows it pending; the admin sees it
// with viewer suggested and the nav count, approves; the requester's next
// page shows the report; a second approval is a 409; the trail has it all.
func TestAccessRequestApprovedWithoutSigningOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{access: true})
	nora := e.browser()
	denied := nora.signIn(e, "/reports", "norole@example.com", "demo-password")
	if denied.Status != http.StatusForbidden || testid(denied, "request-access").Length() != 1 {
		t.Fatalf("denied page: %d, request form %d", denied.Status, testid(denied, "request-access").Length())
	}
	pending := nora.submit(denied, map[string]string{"reason": "Board meeting on Friday"})
	if pending.Status != http.StatusForbidden || pending.URL.Path != "/reports" || testid(pending, "request-pending").Length() != 1 {
		t.Fatalf("after asking: %d at %s, pending %d", pending.Status, pending.URL, testid(pending, "request-pending").Length())
	}
	if !strings.Contains(testid(pending, "request-pending").Text(), "waiting for an admin") {
		t.Errorf("pending text = %q", testid(pending, "request-pending").Text())
	}
	// Asking again (a second tab) shows the same request, no duplicate.
	nora.submit(denied, map[string]string{"reason": "again"})

	ada := e.browser()
	ada.signIn(e, "", "admin@example.com", "demo-password")
	list := ada.get(e.app.URL + "/admin/requests")
	rows := testid(list, "access-request")
	if list.Status != http.StatusOK || testid(list, "access-requests").Length() != 1 || rows.Length() != 1 {
		t.Fatalf("/admin/requests: %d, %d rows", list.Status, rows.Length())
	}
	if got := testid(list, "nav-open-requests").Text(); !strings.HasPrefix(strings.TrimSpace(got), "1") {
		t.Errorf("nav badge = %q, want 1", got)
	}
	if !strings.Contains(rows.Text(), "Board meeting on Friday") || !strings.Contains(rows.Text(), "Nora Norole") {
		t.Errorf("row lacks the person or reason: %q", rows.Text())
	}
	if got := rows.Find(`select[name="role"] option[selected]`).AttrOr("value", ""); got != "viewer" {
		t.Errorf("suggested role = %q, want viewer", got)
	}
	approved := ada.submit(list, map[string]string{"role": "viewer"})
	if approved.Status != http.StatusOK || approved.URL.Path != "/admin/requests" || testid(approved, "access-request").Length() != 0 {
		t.Fatalf("after approving: %d at %s", approved.Status, approved.URL)
	}
	e.runGrants()

	if p := nora.get(e.app.URL + "/reports"); p.Status != http.StatusOK || testid(p, "report").Length() != 1 {
		t.Errorf("requester's next page: %d, report %d", p.Status, testid(p, "report").Length())
	}
	again := ada.submit(list, map[string]string{"role": "viewer"})
	if again.Status != http.StatusConflict {
		t.Errorf("second approval: %d, want 409", again.Status)
	}
	e.runGrants()
	if roles, err := e.directory.AssignedRoles(context.Background(), e.userID("norole@example.com")); err != nil || !slices.Equal(roles, []string{"viewer"}) {
		t.Errorf("norole's roles = %v (%v), want only viewer", roles, err)
	}

	trail := ada.get(e.app.URL + "/admin/audit?person=" + url.QueryEscape(e.userID("norole@example.com")))
	var got []string
	testid(trail, "audit-entry").Each(func(_ int, s *goquery.Selection) {
		got = append(got, s.AttrOr("data-action", "")+" by "+s.AttrOr("data-actor", ""))
	})
	adaID, noraID := e.userID("admin@example.com"), e.userID("norole@example.com")
	want := []string{audit.RoleGranted + " by " + adaID, audit.RequestApproved + " by " + adaID, audit.RequestOpened + " by " + noraID}
	if !slices.Equal(got, want) {
		t.Errorf("audit trail = %v, want %v", got, want)
	}
	if !strings.Contains(testid(trail, "audit-entry").First().Text(), "Nora Norole") {
		t.Errorf("grant entry does not name the subject: %q", testid(trail, "audit-entry").First().Text())
	}
}

// TestDeclineShowsTheNote: the decline and the admin's note are on the
// requester's denied page, with no form until 24 h have passed.
func TestDeclineShowsTheNote(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{access: true})
	nora := e.browser()
	denied := nora.signIn(e, "/reports", "norole@example.com", "demo-password")
	nora.submit(denied, map[string]string{"reason": "please"})
	ada := e.browser()
	ada.signIn(e, "", "admin@example.com", "demo-password")
	ada.submit(ada.get(e.app.URL+"/admin/requests"), map[string]string{"note": "Ask your manager"})
	p := nora.get(e.app.URL + "/reports")
	if testid(p, "request-declined").Length() != 1 || testid(p, "decline-note").Text() != "Ask your manager" || testid(p, "request-access").Length() != 0 {
		t.Errorf("declined page: declined %d, note %q, form %d", testid(p, "request-declined").Length(),
			testid(p, "decline-note").Text(), testid(p, "request-access").Length())
	}
	decided := ada.get(e.app.URL + "/admin/requests?filter=decided")
	if rows := testid(decided, "access-request"); rows.Length() != 1 || rows.AttrOr("data-state", "") != access.StateDeclined {
		t.Errorf("decided filter: %d rows", rows.Length())
	}
}

// TestAdminRoutesRefuseNonAdmins: every new admin route is a 403 to a
// signed-in person without the permission.
func TestAdminRoutesRefuseNonAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{access: true})
	nora := e.browser()
	nora.signIn(e, "", "norole@example.com", "demo-password")
	req, _, err := e.requests.Open(context.Background(), access.Person{ID: e.userID("norole@example.com")}, "reports:view", "")
	if err != nil {
		t.Fatal(err)
	}
	viewer := e.browser()
	viewer.signIn(e, "", "analyst@example.com", "demo-password")
	id := "/admin/requests/" + strconv.FormatInt(req.ID, 10)
	for _, route := range []struct{ method, path string }{
		{"GET", "/admin/requests"}, {"POST", id + "/approve"}, {"POST", id + "/deny"},
		{"GET", "/admin/audit"}, {"GET", "/admin/audit.csv"},
	} {
		r, _ := http.NewRequest(route.method, e.app.URL+route.path, strings.NewReader("role=viewer&note=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", e.app.URL)
		if p := viewer.do(r); p.Status != http.StatusForbidden {
			t.Errorf("%s %s as analyst: %d, want 403", route.method, route.path, p.Status)
		}
	}
	if got, _ := e.requests.Get(context.Background(), req.ID); got.State != access.StateOpen {
		t.Errorf("request is %s after refused decisions, want open", got.State)
	}
}

// TestNewPostsRefuseCrossOrigin: each new POST is refused when sent from
// another site, and changes nothing.
func TestNewPostsRefuseCrossOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{access: true})
	nora := e.browser()
	nora.signIn(e, "", "norole@example.com", "demo-password")
	ada := e.browser()
	ada.signIn(e, "", "admin@example.com", "demo-password")
	req, _, err := e.requests.Open(context.Background(), access.Person{ID: e.userID("norole@example.com")}, "reports:view", "")
	if err != nil {
		t.Fatal(err)
	}
	id := "/" + strconv.FormatInt(req.ID, 10)
	for _, c := range []struct {
		who  *browser
		path string
	}{
		{nora, "/access-requests"}, {nora, "/access-requests" + id + "/withdraw"},
		{ada, "/admin/requests" + id + "/approve"}, {ada, "/admin/requests" + id + "/deny"},
	} {
		r, _ := http.NewRequest("POST", e.app.URL+c.path, strings.NewReader("permission=reports:export&role=viewer"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://evil.example")
		if p := c.who.do(r); p.Status != http.StatusForbidden {
			t.Errorf("cross-origin POST %s: %d, want 403", c.path, p.Status)
		}
	}
	if got, _ := e.requests.Get(context.Background(), req.ID); got.State != access.StateOpen {
		t.Errorf("request is %s, want open", got.State)
	}
	if n, _ := e.requests.CountOpen(context.Background()); n != 1 {
		t.Errorf("%d open requests, want 1 (no export request opened)", n)
	}
}

// TestAuditCSVAndRecordedChanges: a report export and a role change on
// /admin/users are recorded; the CSV export escapes formula cells.
func TestAuditCSVAndRecordedChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{access: true})
	ana := e.browser()
	ana.signIn(e, "", "analyst@example.com", "demo-password")
	// A HEAD exports nothing, so it is not in the trail.
	head, _ := http.NewRequest(http.MethodHead, e.app.URL+"/reports/export.csv", nil)
	if p := ana.do(head); p.Status != http.StatusOK {
		t.Fatalf("HEAD export: %d", p.Status)
	}
	if p := ana.get(e.app.URL + "/reports/export.csv"); p.Status != http.StatusOK {
		t.Fatalf("export: %d", p.Status)
	}
	e.browser().signIn(e, "", "viewer@example.com", "demo-password") // known here, so on /admin/users
	ada := e.browser()
	ada.signIn(e, "", "admin@example.com", "demo-password")
	users := ada.get(e.app.URL + "/admin/users")
	row := users.Doc.Find(`[data-user="` + e.userID("viewer@example.com") + `"] form.role-form`)
	action, _ := row.Attr("action")
	r, _ := http.NewRequest("POST", e.app.URL+action, strings.NewReader("role=analyst"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", e.app.URL)
	if p := ada.do(r); p.Status != http.StatusOK {
		t.Fatalf("role change: %d", p.Status)
	}
	e.trail.Record(context.Background(), audit.Entry{ActorID: audit.ActorCLI, Action: audit.RoleGranted, Detail: "=1+1"})

	resp, err := ada.client.Get(e.app.URL + "/admin/audit.csv?actor=" + audit.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != http.StatusOK || len(rows) != 2 || rows[1][8] != "'=1+1" {
		t.Fatalf("csv: %d, %q, %v", resp.StatusCode, rows, err)
	}
	all, _, _ := e.trail.List(context.Background(), audit.Filter{}, 0, 0)
	var got []string
	for _, en := range all {
		got = append(got, en.Action+":"+en.Role)
	}
	for _, want := range []string{audit.ReportExported + ":", audit.RoleGranted + ":analyst", audit.RoleRemoved + ":viewer"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit %v lacks %s", got, want)
		}
	}
	exports := 0
	for _, g := range got {
		if g == audit.ReportExported+":" {
			exports++
		}
	}
	if exports != 1 {
		t.Errorf("%d export entries for one GET and one HEAD, want 1", exports)
	}
}

// TestRequestPagesForBadInputLimitsAndWithdrawal: what cannot be requested
// is a 400; a withdrawn request brings the form back; a sixth new request
// in 24 h is a 429.
func TestRequestPagesForBadInputLimitsAndWithdrawal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{access: true})
	nora := e.browser()
	denied := nora.signIn(e, "/reports", "norole@example.com", "demo-password")
	postForm := func(form url.Values) page {
		r, _ := http.NewRequest("POST", e.app.URL+"/access-requests", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", e.app.URL)
		return nora.do(r)
	}
	if p := postForm(url.Values{"permission": {"users:manage"}}); p.Status != http.StatusBadRequest {
		t.Errorf("requesting users:manage: %d, want 400", p.Status)
	}
	if p := postForm(url.Values{"permission": {"reports:view"}, "reason": {strings.Repeat("x", 501)}}); p.Status != http.StatusBadRequest {
		t.Errorf("501-character reason: %d, want 400", p.Status)
	}
	for i := range access.MaxPerDay {
		pending := nora.submit(denied, map[string]string{"reason": "try " + strconv.Itoa(i)})
		if testid(pending, "request-pending").Length() != 1 {
			t.Fatalf("request %d not pending (%d)", i+1, pending.Status)
		}
		back := nora.submit(pending, map[string]string{"return_to": "/reports"})
		if testid(back, "request-access").Length() != 1 {
			t.Fatalf("after withdrawing request %d: no form (%d)", i+1, back.Status)
		}
	}
	if p := nora.submit(denied, map[string]string{"reason": "once more"}); p.Status != http.StatusTooManyRequests {
		t.Errorf("sixth request in 24 h: %d, want 429", p.Status)
	}
	all, _, _ := e.trail.List(context.Background(), audit.Filter{Action: audit.RequestWithdrawn}, 0, 0)
	if len(all) != access.MaxPerDay {
		t.Errorf("%d withdrawals in the trail, want %d", len(all), access.MaxPerDay)
	}
}
