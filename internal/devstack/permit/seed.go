package permit

import (
	"fmt"
)

// ImportedUser is a user with at most one role in one tenant, as ImportUsers
// writes it.
type ImportedUser struct {
	Key, Email, FirstName string
	Role, Tenant          string // Role "" assigns nothing
}

// ImportUsers creates the users that do not exist yet, each with its role,
// in one write (one log line, one PDP publication), so a seed of hundreds
// of users takes milliseconds instead of hundreds of API round trips.
// Users that already exist are left alone, roles included (an admin may
// have changed them since), so importing the same list again changes
// nothing. It returns how many users it created.
func (s *Server) ImportUsers(users []ImportedUser) (int, error) {
	created := 0
	err := s.write(func(t *tx) error {
		for _, in := range users {
			if t.user(in.Key) != nil {
				continue
			}
			email := &in.Email
			if in.Email == "" {
				email = nil
			}
			if err := t.checkEmailFree(email, ""); err != nil {
				return fmt.Errorf("import user %s: %w", in.Key, err)
			}
			u := &userRec{meta: newMeta(in.Key, t.now)}
			userBody{Email: email, FirstName: &in.FirstName}.applyTo(u, t.now)
			t.putUser(u)
			created++
			if in.Role == "" {
				continue
			}
			if _, err := t.assignBody(in.Key, assignmentBody{Role: &in.Role, Tenant: &in.Tenant}, false); err != nil {
				return fmt.Errorf("import role %s of %s: %w", in.Role, in.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		created = 0
	}
	return created, err
}
