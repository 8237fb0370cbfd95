package logto

import (
	"testing"
	"time"
)

func TestImportUsersKeepsCreatedAtAndIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	at := time.Date(2026, 9, 2, 14, 3, 4, 5e6, time.UTC)
	in := []ImportedUser{
		{Email: "a@demo.example.com", Name: "A", CreatedAt: at},
		{Email: seedEmail, Name: "Already there", CreatedAt: at}, // exists: returned as is
		{Email: "b@demo.example.com", Name: "B", CreatedAt: at.AddDate(0, 0, 1)},
	}
	first, created, err := e.srv.ImportUsers(in)
	if err != nil || created != 2 || len(first) != 3 {
		t.Fatalf("first import: %d users, %d created, %v; want 3 and 2", len(first), created, err)
	}
	if !first[0].CreatedAt.Equal(at) || first[0].HasPassword || first[0].Name != "A" {
		t.Errorf("imported user %+v, want createdAt %s, no password", first[0], at)
	}
	if first[1].Name != seedName {
		t.Errorf("existing user renamed to %q", first[1].Name)
	}
	if u, ok := e.srv.UserByEmail("b@demo.example.com"); !ok || u.ID != first[2].ID {
		t.Errorf("imported user not found by email: %+v %v", u, ok)
	}
	again, created, err := e.srv.ImportUsers(in)
	if err != nil || created != 0 {
		t.Fatalf("second import: %d created, %v; want 0", created, err)
	}
	for i := range again {
		if again[i].ID != first[i].ID {
			t.Errorf("user %d: id %s the second time, %s the first", i, again[i].ID, first[i].ID)
		}
	}
	if _, _, err := e.srv.ImportUsers([]ImportedUser{{Email: "not an email"}}); err == nil {
		t.Error("an invalid email was imported")
	}
}
