package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminUsersChangesRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{decisionTTL: time.Hour})
	viewer := e.browser()
	viewer.signIn(e, "", "viewer@example.com", "demo-password")
	if p := viewer.get(e.app.URL + "/reports"); testid(p, "export-csv").Length() != 0 {
		t.Fatal("viewer sees the export link before the change")
	}
	vid, _ := e.logto.UserByEmail("viewer@example.com")

	admin := e.browser()
	admin.signIn(e, "", "admin@example.com", "demo-password")
	page := admin.get(e.app.URL + "/admin/users")
	if page.Status != http.StatusOK || testid(page, "admin-users").Length() != 1 {
		t.Fatalf("admin users page: %d", page.Status)
	}
	row := page.Doc.Find(`[data-testid="user-row"][data-user="` + vid.ID + `"]`)
	if row.Length() != 1 || row.Find(`[data-testid="role-select"]`).Length() != 1 {
		t.Fatalf("no row with a role select for the viewer")
	}
	if strings.Contains(page.Doc.Text(), "permit_key") {
		t.Fatal("the admin page shows a secret")
	}
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/admin/users/"+vid.ID+"/role", strings.NewReader("role=analyst"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.app.URL)
	after := admin.do(req)
	if after.Status != http.StatusOK || !strings.Contains(after.Doc.Text(), "analyst role") {
		t.Fatalf("after role change: %d at %s", after.Status, after.URL)
	}
	// The decision cache forgot the viewer: the export link appears at once.
	if p := viewer.get(e.app.URL + "/reports"); testid(p, "export-csv").Length() != 1 {
		t.Fatal("the role change did not reach the reports page")
	}
}

func TestAdminPagesNeedPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "analyst@example.com", "demo-password")
	if p := b.get(e.app.URL + "/admin/users"); p.Status != http.StatusForbidden || testid(p, "access-denied").Length() != 1 {
		t.Fatalf("analyst on /admin/users: %d", p.Status)
	}
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/admin/users/x/role", strings.NewReader("role=admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.app.URL)
	if p := b.do(req); p.Status != http.StatusForbidden {
		t.Fatalf("analyst granting admin: %d", p.Status)
	}
}
