package main

import (
	"context"
	"fmt"

	appconfig "reportgate/internal/config"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
	"reportgate/internal/webhook"
)

// seedDemoRoles gives the seeded demo accounts their Permit users and
// roles, through the same directory client the app uses, as an admin would
// in the Permit console.
func seedDemoRoles(ctx context.Context, st *standins, s appconfig.Settings) error {
	dir, err := newDirectory(s)
	if err != nil {
		return err
	}
	for _, a := range demoAccounts {
		u, ok := st.logto.UserByEmail(a.Email)
		if !ok {
			return fmt.Errorf("seed demo roles: %s missing from the Logto stand-in", a.Email)
		}
		if err := dir.SyncUser(ctx, u.ID, a.Email, a.Name); err != nil {
			return fmt.Errorf("seed demo user %s: %w", a.Email, err)
		}
		if a.Role == "" {
			continue
		}
		if err := dir.AssignRole(ctx, u.ID, a.Role); err != nil {
			return fmt.Errorf("seed demo role %s for %s: %w", a.Role, a.Email, err)
		}
	}
	return nil
}

// markDemoSynced tells provisioning that the demo accounts are already in
// Permit with their roles, so nobody "sets up" their access and the
// no-role account is never given the default role: it must see "denied".
func markDemoSynced(ctx context.Context, st *standins, a *app) error {
	for _, acct := range demoAccounts {
		u, ok := st.logto.UserByEmail(acct.Email)
		if !ok {
			return fmt.Errorf("mark demo synced: %s missing from the Logto stand-in", acct.Email)
		}
		if err := a.prov.MarkSynced(ctx, webhook.User{ID: u.ID, Email: acct.Email, Name: acct.Name, CreatedAt: u.CreatedAt}, true); err != nil {
			return err
		}
		var roles []string
		if acct.Role != "" {
			roles = []string{acct.Role}
		}
		// So the dev report and /admin/users show the demo people at once.
		if err := a.users.Upsert(ctx, people.Person{ID: u.ID, Email: acct.Email, Name: acct.Name, RegisteredAt: u.CreatedAt,
			Roles: roles, RolesCheckedAt: u.CreatedAt}); err != nil {
			return err
		}
	}
	return nil
}

func newDirectory(s appconfig.Settings) (*permitdir.Client, error) {
	return permitdir.New(permitdir.Config{
		APIKey:  s.Permit.APIKey,
		APIURL:  s.Permit.APIURL,
		Tenant:  s.Permit.Tenant,
		Timeout: s.Permit.Timeout,
	})
}
