// Package demo seeds what `reportgate dev` shows out of the box: the demo
// accounts with their Permit roles, and a history of demo sign-ups in the
// local Logto, the local Permit and the app's records. It goes through the
// same people lifecycle as real people; the stand-ins themselves are
// reached only through the small interfaces below, which cmd adapts, so
// nothing here depends on them and no product code depends on this.
package demo

import (
	"context"
	"fmt"
	"time"

	"reportgate/internal/people"
)

// Account is a demo account people can sign in with; Role "" has none.
type Account struct {
	Email, Name, Role string
}

// Logto is the local Logto as seeding needs it.
type Logto interface {
	// Lookup is the account with email: its id, email and registration
	// time.
	Lookup(email string) (people.Person, bool)
	// Import creates the accounts whose email is new, with their own
	// registration times, and returns every listed one as Logto holds it
	// (id and registration time set), in order, and how many were new.
	Import(ps []people.Person) ([]people.Person, int, error)
}

// Permit is the local Permit as the history seed needs it.
type Permit interface {
	// Import creates the users that do not exist yet, each with the one
	// role of its snapshot; existing users are left alone.
	Import(ps []people.Person) error
}

// Roles is how the demo accounts get their Permit users and roles: the
// directory client the app uses (permitdir), as an admin would in the
// Permit console.
type Roles interface {
	SyncUser(ctx context.Context, key, email, name string) error
	AssignRole(ctx context.Context, key, role string) error
}

// Synced records people as already synced to Permit (people.Service).
type Synced interface {
	MarkSynced(ctx context.Context, ps []people.Person) error
}

// SeedRoles gives the demo accounts, already in Logto, their Permit users
// and roles.
func SeedRoles(ctx context.Context, lt Logto, dir Roles, accounts []Account) error {
	for _, a := range accounts {
		p, ok := lt.Lookup(a.Email)
		if !ok {
			return fmt.Errorf("seed demo roles: %s missing from the Logto stand-in", a.Email)
		}
		if err := dir.SyncUser(ctx, p.ID, a.Email, a.Name); err != nil {
			return fmt.Errorf("seed demo user %s: %w", a.Email, err)
		}
		if a.Role == "" {
			continue
		}
		if err := dir.AssignRole(ctx, p.ID, a.Role); err != nil {
			return fmt.Errorf("seed demo role %s for %s: %w", a.Role, a.Email, err)
		}
	}
	return nil
}

// MarkSynced tells the app that the demo accounts are already in Permit
// with their roles, so nobody "sets up" their access and the no-role
// account is never given the default role: it must see "denied". Their
// records carry their roles, so the dev report and /admin/users show them
// at once.
func MarkSynced(ctx context.Context, lt Logto, app Synced, accounts []Account) error {
	ps := make([]people.Person, 0, len(accounts))
	for _, a := range accounts {
		p, ok := lt.Lookup(a.Email)
		if !ok {
			return fmt.Errorf("mark demo synced: %s missing from the Logto stand-in", a.Email)
		}
		var roles []string
		if a.Role != "" {
			roles = []string{a.Role}
		}
		ps = append(ps, people.Person{ID: p.ID, Email: a.Email, Name: a.Name, RegisteredAt: p.RegisteredAt,
			Roles: roles, RolesCheckedAt: p.RegisteredAt})
	}
	return app.MarkSynced(ctx, ps)
}

// SeedHistory puts the dev history (History(now)) in all three places, the
// way real people get there: Logto (their registration times), Permit
// (their users and roles) and the app's records (with the same
// registration times, so the report's history is Logto's), marked as
// synced: backfill and sign-in reconciliation must not queue syncs that
// would add the default role to an analyst or an admin. People already
// seeded are left alone, so a restart adds nothing. It returns how many
// people were new to Logto.
func SeedHistory(ctx context.Context, lt Logto, pm Permit, app Synced, now time.Time) (int, error) {
	seeded := History(now)
	in := make([]people.Person, len(seeded))
	for i, h := range seeded {
		in[i] = people.Person{Email: h.Email, Name: h.Name, RegisteredAt: h.CreatedAt}
	}
	accounts, created, err := lt.Import(in)
	if err != nil {
		return 0, fmt.Errorf("seed history in Logto: %w", err)
	}
	records := make([]people.Person, len(seeded))
	for i, h := range seeded {
		at := accounts[i].RegisteredAt
		records[i] = people.Person{ID: accounts[i].ID, Email: h.Email, Name: h.Name, RegisteredAt: at, FirstSeenAt: at,
			Roles: []string{h.Role}, RolesCheckedAt: at}
	}
	if err := pm.Import(records); err != nil {
		return 0, fmt.Errorf("seed history in Permit: %w", err)
	}
	if err := app.MarkSynced(ctx, records); err != nil {
		return 0, fmt.Errorf("seed history in the app: %w", err)
	}
	return created, nil
}
