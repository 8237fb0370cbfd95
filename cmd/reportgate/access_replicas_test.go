package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"reportgate/internal/permitdir"
	"reportgate/internal/provision"
	"reportgate/internal/testkit"
)

// TestAccessRequestAcrossReplicas: a request opened on replica A and
// approved on replica B; the grant job's Forget reaches A, whose deny is
// cached for an hour, so A shows the report within 2 s of the grant.
func TestAccessRequestAcrossReplicas(t *testing.T) {
	r := startTwoReplicas(t, map[string]string{
		// Only an invalidation can end A's cached deny within this test.
		"PERMIT_DECISION_TTL": "1h",
		"PERMIT_DENY_TTL":     "1h",
		// A deny right after the sign-in's sync is a deny, not "being set up".
		"PERMIT_PROPAGATION_GRACE": "1ms",
	})
	a, addrB, env, d := r.a, r.addrB, r.env, r.dev
	ctx := context.Background()

	nora := newPerson(t)
	if !nora.signIn(d, "norole@example.com").Has("user-name") {
		t.Fatal("norole's sign-in failed")
	}
	var noraID string
	if err := a.db.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1`, "norole@example.com").Scan(&noraID); err != nil {
		t.Fatal(err)
	}
	// This database is new, so the sign-in synced norole and gave her the
	// default role; take it away again, as she has in dev.
	eventually(t, 30*time.Second, "norole's first sync", func() bool {
		st, err := a.prov.State(ctx, noraID)
		return err == nil && st.Status == provision.StatusSynced
	})
	dir, err := permitdir.New(permitdir.Config{APIKey: env["PERMIT_API_KEY"], APIURL: env["PERMIT_API_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	if roles, _ := dir.AssignedRoles(ctx, noraID); slices.Contains(roles, "viewer") {
		if err := dir.UnassignRole(ctx, noraID, "viewer"); err != nil {
			t.Fatal(err)
		}
	}
	a.checker.Forget(noraID)

	denied := nora.get(d.appURL + "/reports") // on A; the deny is now cached there
	if denied.Status != http.StatusForbidden || !denied.Has("request-access") {
		t.Fatalf("norole on A: %d, form shown %v", denied.Status, denied.Has("request-access"))
	}
	pending := post(t, nora, d.appURL, d.appURL+"/access-requests", url.Values{
		"permission": {"reports:view"}, "reason": {"quarterly numbers"}, "return_to": {"/reports"}})
	if !pending.Has("request-pending") {
		t.Fatalf("after asking on A: %d at %s, no pending request", pending.Status, pending.URL)
	}
	var requestID int64
	if err := a.db.QueryRowContext(ctx, `SELECT id FROM access_requests WHERE user_id = $1 AND state = 'open'`, noraID).Scan(&requestID); err != nil {
		t.Fatal(err)
	}

	ada := newPerson(t)
	if !ada.signIn(d, "admin@example.com").Has("user-name") {
		t.Fatal("admin's sign-in failed")
	}
	// Approve on B, as the load balancer would send it (same Host).
	approvedAt := time.Now()
	approved := post(t, ada, d.appURL, "http://"+addrB+"/admin/requests/"+strconv.FormatInt(requestID, 10)+"/approve",
		url.Values{"role": {"viewer"}})
	if approved.Status != http.StatusOK || approved.URL.Path != "/admin/requests" {
		t.Fatalf("approve on B: %d at %s", approved.Status, approved.URL)
	}
	eventually(t, 30*time.Second, "the grant job", func() bool {
		var state string
		a.db.QueryRowContext(ctx, `SELECT state FROM access_requests WHERE id = $1`, requestID).Scan(&state)
		return state == "approved"
	})
	granted := time.Now()
	eventually(t, 2*time.Second, "A to show the report after the grant", func() bool {
		return nora.get(d.appURL + "/reports").Has("report")
	})
	t.Logf("report on A %s after the grant was recorded, %s after the approval on B",
		time.Since(granted).Round(time.Millisecond), time.Since(approvedAt).Round(time.Millisecond))
}

// post sends a form as p's browser would (Origin of the site), to target,
// whose Host is the site's even when it goes to another replica, and
// follows the redirect on the site.
func post(t *testing.T, p *person, site, target string, form url.Values) testkit.Page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Host = mustURL(t, site).Host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", site)
	for _, c := range p.client.Jar.Cookies(mustURL(t, site)) {
		req.AddCookie(c)
	}
	noFollow := &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	p.client.Jar.SetCookies(mustURL(t, site), resp.Cookies())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303", target, resp.StatusCode)
	}
	next, err := mustURL(t, site).Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return p.get(next.String())
}
