package demo

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"reportgate/internal/people"
)

// fakeLogto holds accounts by email and registers new ones at their own
// times.
type fakeLogto map[string]people.Person

func (f fakeLogto) Lookup(email string) (people.Person, bool) {
	p, ok := f[email]
	return p, ok
}

func (f fakeLogto) Import(ps []people.Person) ([]people.Person, int, error) {
	out, created := make([]people.Person, len(ps)), 0
	for i, p := range ps {
		if _, ok := f[p.Email]; !ok {
			created++
			f[p.Email] = people.Person{ID: fmt.Sprintf("lt%d", len(f)), Email: p.Email, RegisteredAt: p.RegisteredAt}
		}
		out[i] = f[p.Email]
	}
	return out, created, nil
}

// fakePermit notes each user's roles.
type fakePermit map[string][]string

func (f fakePermit) SyncUser(_ context.Context, key, _, _ string) error {
	if _, ok := f[key]; !ok {
		f[key] = nil // a user with no role yet
	}
	return nil
}

func (f fakePermit) AssignRole(_ context.Context, key, role string) error {
	f[key] = append(f[key], role)
	return nil
}

func (f fakePermit) Import(ps []people.Person) error {
	for _, p := range ps {
		if _, ok := f[p.ID]; !ok {
			f[p.ID] = slices.Clone(p.Roles)
		}
	}
	return nil
}

// fakeApp notes who was marked synced, with what.
type fakeApp map[string]people.Person

func (f fakeApp) MarkSynced(_ context.Context, ps []people.Person) error {
	for _, p := range ps {
		f[p.ID] = p
	}
	return nil
}

var accounts = []Account{{"ada@example.com", "Ada", "admin"}, {"nora@example.com", "Nora", ""}}

func TestSeedRolesAndMarkSyncedKeepTheNoRoleAccountBare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	lt := fakeLogto{"ada@example.com": {ID: "a1", RegisteredAt: at}, "nora@example.com": {ID: "n1", RegisteredAt: at}}
	pm, app := fakePermit{}, fakeApp{}
	if err := SeedRoles(ctx, lt, pm, accounts); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pm["a1"], []string{"admin"}) || len(pm["n1"]) != 0 {
		t.Errorf("Permit roles %v, want admin for Ada and none for Nora", pm)
	}
	if _, ok := pm["n1"]; !ok {
		t.Error("the no-role account is not a Permit user")
	}
	if err := MarkSynced(ctx, lt, app, accounts); err != nil {
		t.Fatal(err)
	}
	if a := app["a1"]; !slices.Equal(a.Roles, []string{"admin"}) || !a.RegisteredAt.Equal(at) || !a.RolesCheckedAt.Equal(at) {
		t.Errorf("Ada marked %+v, want admin as of her registration", a)
	}
	if n := app["n1"]; len(n.Roles) != 0 || n.RolesCheckedAt.IsZero() || n.Name != "Nora" {
		t.Errorf("Nora marked %+v, want a checked empty snapshot", n)
	}
	if err := SeedRoles(ctx, fakeLogto{}, pm, accounts); err == nil {
		t.Error("seeding roles of accounts missing from Logto succeeded")
	}
}

func TestSeedHistoryPutsEveryoneEverywhereOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC)
	lt, pm, app := fakeLogto{}, fakePermit{}, fakeApp{}
	n, err := SeedHistory(ctx, lt, pm, app, now)
	if err != nil || n != HistoryPeople || len(pm) != HistoryPeople || len(app) != HistoryPeople {
		t.Fatalf("seeded %d (%v): %d in Permit, %d in the app, want %d each", n, err, len(pm), len(app), HistoryPeople)
	}
	for id, p := range app {
		if len(pm[id]) != 1 || !slices.Equal(pm[id], p.Roles) || !p.RegisteredAt.Equal(lt[p.Email].RegisteredAt) ||
			!p.FirstSeenAt.Equal(p.RegisteredAt) {
			t.Fatalf("%s: Permit %v, app %+v, Logto %+v disagree", id, pm[id], p, lt[p.Email])
		}
	}
	if n, err := SeedHistory(ctx, lt, pm, app, now.AddDate(0, 0, 3)); err != nil || n != 0 {
		t.Errorf("a restart seeded %d more (%v), want none", n, err)
	}
}
