package people

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"reportgate/internal/audit"
	"reportgate/internal/webhook"
)

// SetOnlyRole makes role the person's only role in Permit's tenant. The new
// role is assigned first and the others removed after, so a failure
// half-way leaves the person with more access than before, never with
// none. The snapshot here is then set to what Permit holds; a person not
// recorded here yet gets theirs at their first sign-in or sync.
func (s *Service) SetOnlyRole(ctx context.Context, p Person, role string) error {
	if err := s.permit.SyncUser(ctx, p.ID, p.Email, p.Name); err != nil {
		return fmt.Errorf("create %s in Permit: %w", p.Email, err)
	}
	if err := s.permit.AssignRole(ctx, p.ID, role); err != nil {
		return fmt.Errorf("assign %s to %s: %w", role, p.Email, err)
	}
	held, err := s.permit.AssignedRoles(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("roles of %s: %w", p.Email, err)
	}
	for _, other := range held {
		if other == role {
			continue
		}
		if err := s.permit.UnassignRole(ctx, p.ID, other); err != nil {
			return fmt.Errorf("remove %s from %s: %w", other, p.Email, err)
		}
	}
	if err := s.store.SetRoles(ctx, p.ID, []string{role}); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("record the role of %s here: %w", p.Email, err)
	}
	return nil
}

// GrantFromCommandLine is `reportgate grant`: the Logto user with email
// gets role as their only role (SetOnlyRole), and the audit trail records
// the outcome, after the Permit calls, as the command line's doing.
func (s *Service) GrantFromCommandLine(ctx context.Context, email, role string) (Person, error) {
	p, err := s.FindInLogto(ctx, email)
	if err != nil {
		return Person{}, err
	}
	err = s.SetOnlyRole(ctx, p, role)
	entry := audit.Entry{ActorID: audit.ActorCLI, Action: audit.RoleGranted, SubjectID: p.ID, SubjectName: p.Email,
		Role: role, Detail: "reportgate grant; any other role removed"}
	if err != nil {
		entry.Action, entry.Detail = audit.RoleChangeFailed, "reportgate grant failed"
	}
	if auditErr := s.trail.Record(ctx, entry); auditErr != nil {
		err = errors.Join(err, auditErr)
	}
	return p, err
}

// logtoPageSize is the Management API page size (its maximum).
const logtoPageSize = 100

// FindInLogto pages through Logto's users for one email address (the
// Management API's search matches more than emails, so the match is exact
// here).
func (s *Service) FindInLogto(ctx context.Context, email string) (Person, error) {
	var found *webhook.User
	_, err := s.eachLogtoPage(ctx, 1, func(users []webhook.User, _, _ int) (bool, error) {
		for _, u := range users {
			if strings.EqualFold(u.Email, email) {
				found = &u
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return Person{}, err
	}
	if found == nil {
		return Person{}, fmt.Errorf("no Logto user with email %s", email)
	}
	return FromWebhook(*found), nil
}

// eachLogtoPage calls fn with each page of Logto's users from page start
// on, with the page number and Logto's total, until the last page or until
// fn says stop (false) or fails. It returns the page it stopped on.
func (s *Service) eachLogtoPage(ctx context.Context, start int, fn func(users []webhook.User, page, total int) (bool, error)) (int, error) {
	for page := start; ; page++ {
		users, total, err := s.logto.ListUsers(ctx, page, logtoPageSize)
		if err != nil {
			return page, fmt.Errorf("list Logto users, page %d: %w", page, err)
		}
		more, err := fn(users, page, total)
		if err != nil || !more || len(users) < logtoPageSize || page*logtoPageSize >= total {
			return page, err
		}
	}
}
