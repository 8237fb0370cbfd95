package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"reportgate/handlers"
	"reportgate/internal/authz"
	"reportgate/internal/database"
	"reportgate/internal/people"
	"reportgate/internal/provision"
)

// countingAuthz counts AllowedAll calls; down makes them fail as an
// unreachable PDP would.
type countingAuthz struct {
	next  handlers.Authorizer
	calls atomic.Int64
	down  atomic.Bool
}

func (c *countingAuthz) AllowedAll(ctx context.Context, u authz.User, reqs ...authz.Request) (map[authz.Request]bool, error) {
	c.calls.Add(1)
	if c.down.Load() {
		return nil, fmt.Errorf("%w: test", authz.ErrUnavailable)
	}
	return c.next.AllowedAll(ctx, u, reqs...)
}

// post sends a form from the app's own origin, as a browser would.
func (b *browser) post(e *env, path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.app.URL)
	return b.do(req)
}

func userID(t *testing.T, e *env, email string) string {
	t.Helper()
	u, ok := e.logto.UserByEmail(email)
	if !ok {
		t.Fatalf("no stand-in user %s", email)
	}
	return u.ID
}

func TestNavAdminOnlyForAdminsAndOneDecisionCallPerPage(t *testing.T) {
	t.Parallel()
	counter := &countingAuthz{}
	e := newEnv(t, envOptions{sync: &fakeSync{}, authz: func(a handlers.Authorizer) handlers.Authorizer {
		counter.next = a
		return counter
	}})

	anon := e.browser()
	before := counter.calls.Load()
	if p := anon.get(e.app.URL + "/"); testid(p, "nav-admin").Length() != 0 || testid(p, "sign-in").Length() == 0 {
		t.Fatal("signed-out home: an admin entry, or no sign-in")
	}
	if n := counter.calls.Load() - before; n != 0 {
		t.Errorf("signed-out home asked the PDP %d times, want 0", n)
	}

	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	viewer := e.browser()
	viewer.signIn(e, "", "viewer@example.com", "demo-password")
	for _, path := range []string{"/", "/reports", "/admin/users", "/admin/sync"} {
		before := counter.calls.Load()
		p := admin.get(e.app.URL + path)
		if n := counter.calls.Load() - before; n != 1 {
			t.Errorf("admin %s asked the PDP %d times, want once", path, n)
		}
		nav := testid(p, "nav-admin")
		if p.Status != http.StatusOK || nav.Length() != 1 {
			t.Fatalf("admin %s: status %d, %d admin entries", path, p.Status, nav.Length())
		}
		if href, _ := nav.Attr("href"); href != "/admin/users" {
			t.Errorf("admin entry on %s leads to %q", path, href)
		}
		if got := strings.TrimSpace(testid(p, "nav-failed-jobs").Contents().First().Text()); got != "1" {
			t.Errorf("failed-jobs badge on %s = %q, want 1", path, got)
		}
		if strings.HasPrefix(path, "/admin/") {
			if testid(p, "admin-tab-users").Length() != 1 || testid(p, "admin-tab-sync").Length() != 1 {
				t.Errorf("%s does not link both admin pages", path)
			}
		}

		before = counter.calls.Load()
		p = viewer.get(e.app.URL + path)
		if n := counter.calls.Load() - before; n != 1 {
			t.Errorf("viewer %s asked the PDP %d times, want once", path, n)
		}
		if testid(p, "nav-admin").Length() != 0 {
			t.Errorf("viewer sees the admin entry on %s", path)
		}
	}

	// Home offers the reports only to people who may open them.
	if p := viewer.get(e.app.URL + "/"); testid(p, "reports-link").Length() != 1 || testid(p, "no-reports-access").Length() != 0 {
		t.Error("home does not offer reports to a viewer")
	}
	norole := e.browser()
	if p := norole.signIn(e, "", "norole@example.com", "demo-password"); testid(p, "reports-link").Length() != 0 ||
		testid(p, "no-reports-access").Length() != 1 {
		t.Error("home offers reports to a person without access, or does not say what to do")
	}
}

func TestAccessPagesHaveTheirOwnTitlesAndWaysForward(t *testing.T) {
	t.Parallel()
	counter := &countingAuthz{}
	e := newEnv(t, envOptions{authz: func(a handlers.Authorizer) handlers.Authorizer {
		counter.next = a
		return counter
	}})
	b := e.browser()
	b.signIn(e, "", "analyst@example.com", "demo-password")
	denied := b.get(e.app.URL + "/admin/users")
	if denied.Status != http.StatusForbidden || denied.Doc.Find("title").Text() != "Access denied · reportgate" {
		t.Fatalf("denied: %d %q", denied.Status, denied.Doc.Find("title").Text())
	}
	if testid(denied, "home-link").Length() != 1 || testid(denied, "sign-out-instead").Length() != 1 {
		t.Error("the 403 page offers no way forward")
	}
	counter.down.Store(true)
	down := b.get(e.app.URL + "/reports?x=1")
	if down.Status != http.StatusServiceUnavailable || down.Doc.Find("title").Text() != "Permissions unavailable · reportgate" {
		t.Fatalf("unavailable: %d %q", down.Status, down.Doc.Find("title").Text())
	}
	if href, _ := testid(down, "try-again").Attr("href"); href != "/reports?x=1" || testid(down, "home-link").Length() != 1 ||
		testid(down, "sign-out-instead").Length() != 1 {
		t.Errorf("the 503 page's ways forward: try again %q", href)
	}
}

func TestAdminNoticeIsNotTakenFromTheAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{sync: &fakeSync{}})
	e.browser().signIn(e, "", "viewer@example.com", "demo-password") // known to reportgate
	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	for _, path := range []string{"/admin/users", "/admin/sync"} {
		p := admin.get(e.app.URL + path + "?notice=" + url.QueryEscape("Call +1 555 0100 to verify your account"))
		if p.Status != http.StatusOK || strings.Contains(p.Doc.Text(), "555 0100") || testid(p, "flash").Length() != 0 {
			t.Errorf("%s shows the notice from its address", path)
		}
	}
	// A real notice shows once, in the layout's flash.
	after := admin.post(e, "/admin/users/"+userID(t, e, "viewer@example.com")+"/role", url.Values{"role": {"analyst"}})
	if got := testid(after, "flash").Text(); after.URL.Path != "/admin/users" || got != "viewer@example.com now has the analyst role." {
		t.Fatalf("after the change: %d at %s, flash %q: %s", after.Status, after.URL, got, after.Doc.Find("h1").Text())
	}
	if again := admin.get(e.app.URL + "/admin/users"); testid(again, "flash").Length() != 0 {
		t.Error("the notice shows twice")
	}
}

// failingUnassign is a PermitRoles whose UnassignRole fails.
type failingUnassign struct{ handlers.PermitRoles }

func (failingUnassign) UnassignRole(context.Context, string, string) error {
	return errors.New("permit: 503")
}

func TestRoleChangeAssignsBeforeItUnassigns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{directory: func(d handlers.PermitRoles) handlers.PermitRoles { return failingUnassign{d} }})
	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	viewer := e.browser()
	viewer.signIn(e, "", "viewer@example.com", "demo-password")
	id := userID(t, e, "viewer@example.com")
	p := admin.post(e, "/admin/users/"+id+"/role", url.Values{"role": {"analyst"}})
	if p.Status != http.StatusBadGateway {
		t.Fatalf("status %d, want the Permit failure page", p.Status)
	}
	roles, err := e.directory.AssignedRoles(ctx(t), id)
	slices.Sort(roles)
	if err != nil || !slices.Equal(roles, []string{"analyst", "viewer"}) {
		t.Fatalf("Permit roles after a failed unassign = %q, %v; want the new role kept", roles, err)
	}
	if u, _ := e.users.Get(ctx(t), id); !slices.Equal(u.Roles, []string{"analyst", "viewer"}) {
		t.Errorf("snapshot = %q, want what Permit holds", u.Roles)
	}
}

func TestLastAdminKeepsTheAdminRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	viewer := e.browser()
	viewer.signIn(e, "", "viewer@example.com", "demo-password")
	adminID, viewerID := userID(t, e, "admin@example.com"), userID(t, e, "viewer@example.com")

	// Removing one's own admin role asks first, and changes nothing yet.
	confirm := admin.post(e, "/admin/users/"+adminID+"/role", url.Values{"role": {"viewer"}})
	if testid(confirm, "confirm-own-role").Length() != 1 {
		t.Fatalf("no confirmation step: %d at %s", confirm.Status, confirm.URL)
	}
	if roles, _ := e.directory.AssignedRoles(ctx(t), adminID); !slices.Equal(roles, []string{"admin"}) {
		t.Fatalf("roles changed before confirming: %q", roles)
	}
	// Confirmed, it is refused: nobody else is an admin.
	refused := admin.submit(confirm, map[string]string{"confirm": "1"})
	if refused.URL.Path != "/admin/users" || !strings.Contains(testid(refused, "flash").Text(), "only admin") {
		t.Fatalf("last admin: %d at %s, flash %q", refused.Status, refused.URL, testid(refused, "flash").Text())
	}
	if roles, _ := e.directory.AssignedRoles(ctx(t), adminID); !slices.Equal(roles, []string{"admin"}) {
		t.Fatalf("the last admin lost the role: %q", roles)
	}

	// With a second admin it goes through, and the first is sent home.
	admin.post(e, "/admin/users/"+viewerID+"/role", url.Values{"role": {"admin"}})
	done := admin.post(e, "/admin/users/"+adminID+"/role", url.Values{"role": {"viewer"}, "confirm": {"1"}})
	if done.URL.Path != "/" || !strings.Contains(testid(done, "flash").Text(), "now has the viewer role") || testid(done, "nav-admin").Length() != 0 {
		t.Fatalf("self-demotion: %s, flash %q", done.URL, testid(done, "flash").Text())
	}
	if roles, _ := e.directory.AssignedRoles(ctx(t), adminID); !slices.Equal(roles, []string{"viewer"}) {
		t.Fatalf("roles after confirming = %q", roles)
	}
}

func TestSignOutEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	phone, laptop := e.browser(), e.browser()
	phone.signIn(e, "", "viewer@example.com", "demo-password")
	laptop.signIn(e, "", "viewer@example.com", "demo-password")
	id := userID(t, e, "viewer@example.com")
	row := func(p page) string {
		n, _ := p.Doc.Find(`[data-testid="user-row"][data-user="` + id + `"] [data-testid="session-count"]`).Attr("data-count")
		return n
	}
	list := admin.get(e.app.URL + "/admin/users")
	if got := row(list); got != "2" {
		t.Fatalf("viewer's sessions = %q, want 2", got)
	}
	action, _ := list.Doc.Find(`[data-testid="user-row"][data-user="` + id + `"] [data-testid="sign-out-everywhere"]`).Closest("form").Attr("action")
	after := admin.post(e, action, nil)
	if got := row(after); got != "0" || !strings.Contains(testid(after, "flash").Text(), "2 sessions ended") {
		t.Fatalf("after signing out everywhere: %q sessions, flash %q", got, testid(after, "flash").Text())
	}
	for _, b := range []*browser{phone, laptop} {
		resp, err := b.noFollow().Get(e.app.URL + "/reports")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/sign-in") {
			t.Errorf("a revoked session on /reports: %d to %q, want sent to sign in", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestAdminUsersPagingAndSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		u := people.Person{ID: fmt.Sprintf("person%03d", i), Email: fmt.Sprintf("p%03d@example.org", i),
			Name: fmt.Sprintf("Person %03d", i), RegisteredAt: base.Add(time.Duration(i) * time.Hour)}
		if err := e.users.Upsert(ctx(t), u); err != nil {
			t.Fatal(err)
		}
	}
	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password") // 61 people in all
	rows := func(p page) []string {
		var ids []string
		p.Doc.Find(`[data-testid="user-row"]`).Each(func(_ int, s *goquery.Selection) {
			ids = append(ids, s.AttrOr("data-user", ""))
		})
		return ids
	}
	first := admin.get(e.app.URL + "/admin/users")
	if n := len(rows(first)); n != 50 {
		t.Fatalf("page 1 has %d rows, want 50", n)
	}
	next, _ := testid(first, "page-next").Attr("href")
	second := admin.get(e.app.URL + next)
	if n := len(rows(second)); n != 11 || testid(second, "page-next").Length() != 0 || testid(second, "page-prev").Length() != 1 {
		t.Fatalf("page 2 (%s) has %d rows, or wrong links", next, n)
	}
	if seen := append(rows(first), rows(second)...); len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 61 {
		t.Error("the pages overlap or miss someone")
	}
	found := admin.get(e.app.URL + "/admin/users?q=" + url.QueryEscape("PERSON 04"))
	if got := rows(found); !slices.Equal(got, []string{"person049", "person048", "person047", "person046", "person045",
		"person044", "person043", "person042", "person041", "person040"}) {
		t.Errorf("search by name = %q", got)
	}
	if got := rows(admin.get(e.app.URL + "/admin/users?q=p007%40example")); !slices.Equal(got, []string{"person007"}) {
		t.Errorf("search by email = %q", got)
	}
	past := admin.get(e.app.URL + "/admin/users?page=99")
	if href, _ := testid(past, "no-users").Find("a").Attr("href"); past.Status != http.StatusOK || len(rows(past)) != 0 || href != "/admin/users?page=2" {
		t.Errorf("a page past the end: %d, %d rows, link %q", past.Status, len(rows(past)), href)
	}
	// Text PostgreSQL would refuse finds nobody instead of failing.
	if p := admin.get(e.app.URL + "/admin/users?q=%00%ff"); p.Status != http.StatusOK {
		t.Errorf("a search of a NUL and a stray byte: %d", p.Status)
	}
}

// TestHugePageNumbersAreEmptyPages: a page number whose row offset would
// overflow is a page past the end, not an error (PostgreSQL refuses a
// negative OFFSET).
func TestHugePageNumbersAreEmptyPages(t *testing.T) {
	t.Parallel()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{dialect: d, access: true})
			admin := e.browser()
			admin.signIn(e, "", "admin@example.com", "demo-password")
			for _, path := range []string{"/admin/users?page=999999999999999999", "/admin/audit?page=999999999999999999"} {
				if p := admin.get(e.app.URL + path); p.Status != http.StatusOK {
					t.Errorf("%s: status %d, want 200", path, p.Status)
				}
			}
		})
	}
}

// recordingSync is fakeSync that remembers the queries it was asked.
type recordingSync struct {
	fakeSync
	mu      sync.Mutex
	queries []provision.OverviewQuery
}

func (r *recordingSync) OverviewOf(ctx context.Context, q provision.OverviewQuery) (provision.Overview, error) {
	r.mu.Lock()
	r.queries = append(r.queries, q)
	r.mu.Unlock()
	return r.fakeSync.OverviewOf(ctx, q)
}

func TestAdminSyncIsReadable(t *testing.T) {
	t.Parallel()
	sync := &recordingSync{}
	e := newEnv(t, envOptions{sync: sync})
	if err := e.users.Upsert(ctx(t), people.Person{ID: "u1", Email: "una@example.com", Name: "Una Uno"}); err != nil {
		t.Fatal(err)
	}
	deliverTo(t, e.app.URL, userCreated, "00")
	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	p := admin.get(e.app.URL + "/admin/sync")
	if got := p.Doc.Find(`[data-testid="event-count"][data-kind="rejected_signature"] .stat-label`).Text(); got != "Bad signature" {
		t.Errorf("label = %q", got)
	}
	if got := p.Doc.Find(`[data-testid="event-count"][data-kind="accepted"] .stat-note`).Text(); !strings.Contains(got, "last 24 h · total 9") {
		t.Errorf("the count's caption = %q", got)
	}
	user := testid(p, "event-row").First().Find(".person-name")
	if user.Text() != "Una Uno" || !strings.Contains(testid(p, "event-row").First().Text(), "u1") {
		t.Errorf("event user = %q, want the name with the id", user.Text())
	}
	if testid(p, "job-row").First().Find(".person-name").Text() != "Una Uno" {
		t.Error("the job row shows no name")
	}
	admin.get(e.app.URL + "/admin/sync?events=all")
	sync.mu.Lock()
	defer sync.mu.Unlock()
	if want := []provision.OverviewQuery{{Ignored: false}, {Ignored: true}}; !slices.Equal(sync.queries, want) {
		t.Errorf("queries = %+v, want ignored events hidden unless asked for", sync.queries)
	}
}
