package reports

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/people"
)

// TestCSVFromStoreHasNoPersonalData builds the report from a real store
// holding people's emails and names and checks none of it reaches the CSV.
func TestCSVFromStoreHasNoPersonalData(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 11, 3, 12, 0, 0, 0, time.UTC)
	users := people.NewStore(databasetest.Open(t, database.SQLite), func() time.Time { return now })
	people := []people.Person{
		{ID: "logto-id-1", Email: "ann@example.com", Name: "Ann Example"},
		{ID: "logto-id-2", Email: "bob@example.org", Name: "Bob Sample", Roles: []string{"analyst"}, RolesCheckedAt: now},
	}
	for _, u := range people {
		if err := users.RecordSignIn(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewService(users, func() time.Time { return now }, 0).Signups(ctx, Last(DefaultDays))
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 2 {
		t.Fatalf("Total = %d, want 2", r.Total)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, u := range people {
		for _, personal := range []string{u.ID, u.Email, u.Name, "@"} {
			if strings.Contains(out, personal) {
				t.Errorf("CSV contains %q:\n%s", personal, out)
			}
		}
	}
	if !strings.HasSuffix(out, "2025-11-03,2,1,1\n") {
		t.Errorf("CSV does not end with today's row 2025-11-03,2,1,1:\n%s", out)
	}
}
