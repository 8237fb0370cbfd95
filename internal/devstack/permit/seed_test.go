package permit

import (
	"testing"
)

func TestImportUsersCreatesOnceWithTheirRole(t *testing.T) {
	t.Parallel()
	s := start(t)
	in := []ImportedUser{
		{Key: "u1", Email: "u1@demo.example.com", FirstName: "One", Role: "viewer", Tenant: "default"},
		{Key: "u2", Email: "u2@demo.example.com", FirstName: "Two", Role: "analyst", Tenant: "default"},
		{Key: "u3", Email: "u3@demo.example.com", FirstName: "Three"},
	}
	if n, err := s.ImportUsers(in); err != nil || n != 3 {
		t.Fatalf("first import: %d created, %v; want 3", n, err)
	}
	roles := func(key string) []string {
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []string
		for _, a := range s.st.byUser[key] {
			out = append(out, a.Role)
		}
		return out
	}
	// An admin removes u1's role; importing again must neither add a user
	// nor give u1 the seeded role back.
	if err := s.write(func(t *tx) error { t.unassign(t.byUser["u1"][0]); return nil }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ImportUsers(in); err != nil || n != 0 {
		t.Fatalf("second import: %d created, %v; want 0", n, err)
	}
	if got := roles("u1"); len(got) != 0 {
		t.Errorf("u1 roles after a second import %v, want none (left as the admin set them)", got)
	}
	if got := roles("u2"); len(got) != 1 || got[0] != "analyst" {
		t.Errorf("u2 roles %v, want [analyst]", got)
	}
	if got := roles("u3"); len(got) != 0 {
		t.Errorf("u3 roles %v, want none", got)
	}
	// All or nothing: an unknown role leaves no user behind.
	if _, err := s.ImportUsers([]ImportedUser{{Key: "u4", Role: "nope", Tenant: "default"}}); err == nil {
		t.Fatal("an unknown role was accepted")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.user("u4") != nil {
		t.Error("a failed import left its user behind")
	}
}
