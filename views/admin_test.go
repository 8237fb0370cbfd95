package views

import "testing"

// TestNavAdminEntry: the entry leads to the first admin page the person
// may use, and the failed-jobs badge is for sync:manage holders only.
func TestNavAdminEntry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		admin *AdminNav
		href  string
		badge string // "" = none
	}{
		{"nobody", nil, "", ""},
		{"people only", &AdminNav{Users: true, FailedJobs: 3}, "/admin/users", ""},
		{"sync only", &AdminNav{Sync: true, FailedJobs: 3}, "/admin/sync", "3"},
		{"both, nothing failed", &AdminNav{Users: true, Sync: true}, "/admin/users", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := basePage()
			p.User = &User{Name: "Ada", Email: "ada@example.com"}
			p.Admin = tc.admin
			doc := mustRender(t, HomePage(p, HomeView{}))
			entry := byTestID(doc, "nav-admin")
			if tc.admin == nil {
				if entry.Length() != 0 {
					t.Fatal("an admin entry for someone with no admin page")
				}
				return
			}
			if href, _ := entry.Attr("href"); entry.Length() != 1 || href != tc.href {
				t.Fatalf("entry %d, href %q; want %q", entry.Length(), href, tc.href)
			}
			badge := byTestID(doc, "nav-failed-jobs")
			if got := badge.Contents().First().Text(); got != tc.badge {
				t.Errorf("badge %q, want %q", got, tc.badge)
			}
		})
	}
}
