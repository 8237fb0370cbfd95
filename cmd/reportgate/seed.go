package main

import (
	"context"
	"fmt"

	appconfig "reportgate/internal/config"
	"reportgate/internal/permitdir"
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

func newDirectory(s appconfig.Settings) (*permitdir.Client, error) {
	return permitdir.New(permitdir.Config{
		APIKey:  s.Permit.APIKey,
		APIURL:  s.Permit.APIURL,
		Tenant:  s.Permit.Tenant,
		Timeout: s.Permit.Timeout,
	})
}
