package logto

import (
	"fmt"
	"strings"
	"time"
)

// ImportedUser is an account ImportUsers creates: no password (it cannot
// sign in), registered at CreatedAt.
type ImportedUser struct {
	Email, Name string
	CreatedAt   time.Time
}

// ImportUsers creates the accounts whose email does not exist yet, with
// their own registration times, as an import into Logto would; it fires no
// webhooks and writes the state once; one invalid email refuses the whole
// list. It returns every listed account, existing or new, in order, and
// how many it created, so importing the same list again creates nothing.
func (s *Server) ImportUsers(in []ImportedUser) ([]User, int, error) {
	// Refuse the whole list before writing any of it.
	for _, u := range in {
		if email := strings.TrimSpace(u.Email); !validEmail(email) {
			return nil, 0, fmt.Errorf("import user %q: %w", email, errInvalidEmail)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(in))
	created := 0
	for _, u := range in {
		email := strings.TrimSpace(u.Email)
		if a := s.accountByEmailLocked(email); a != nil {
			out = append(out, a.public())
			continue
		}
		at := u.CreatedAt.UTC().Truncate(time.Millisecond)
		a := &account{User: User{PrimaryEmail: email, Name: u.Name, CreatedAt: at, UpdatedAt: at}}
		s.st.addAccount(a)
		out = append(out, a.public())
		created++
	}
	if created > 0 {
		s.persist()
	}
	return out, created, nil
}
