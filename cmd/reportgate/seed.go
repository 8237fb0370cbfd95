package main

import (
	"context"
	"time"

	appconfig "reportgate/internal/config"
	"reportgate/internal/demo"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
)

// The dev history's shape, for dev's flags and banner.
const (
	historyPeople = demo.HistoryPeople
	historyDays   = demo.HistoryDays
	historyDomain = demo.HistoryDomain
)

// seedDemoRoles gives the demo accounts their Permit users and roles,
// through the directory client the app uses.
func seedDemoRoles(ctx context.Context, st *standins, s appconfig.Settings) error {
	dir, err := newDirectory(s)
	if err != nil {
		return err
	}
	return demo.SeedRoles(ctx, demoLogto{st.logto}, dir, accountsOf(demoAccounts))
}

// markDemoSynced records the demo accounts as synced with their roles.
func markDemoSynced(ctx context.Context, st *standins, a *app) error {
	return demo.MarkSynced(ctx, demoLogto{st.logto}, a.people, accountsOf(demoAccounts))
}

// seedHistory seeds the dev history in the stand-ins and the app.
func seedHistory(ctx context.Context, st *standins, a *app, s appconfig.Settings, now time.Time) (int, error) {
	return demo.SeedHistory(ctx, demoLogto{st.logto}, demoPermit{st.permit, s.Permit.Tenant}, a.people, now)
}

func accountsOf(in []demoAccount) []demo.Account {
	out := make([]demo.Account, len(in))
	for i, a := range in {
		out[i] = demo.Account(a)
	}
	return out
}

// demoLogto is the Logto stand-in as the demo seed sees it.
type demoLogto struct{ lt *logto.Server }

func (d demoLogto) Lookup(email string) (people.Person, bool) {
	u, ok := d.lt.UserByEmail(email)
	return people.Person{ID: u.ID, Email: email, RegisteredAt: u.CreatedAt}, ok
}

func (d demoLogto) Import(ps []people.Person) ([]people.Person, int, error) {
	in := make([]logto.ImportedUser, len(ps))
	for i, p := range ps {
		in[i] = logto.ImportedUser{Email: p.Email, Name: p.Name, CreatedAt: p.RegisteredAt}
	}
	accounts, created, err := d.lt.ImportUsers(in)
	if err != nil {
		return nil, 0, err
	}
	out := make([]people.Person, len(accounts))
	for i, u := range accounts {
		out[i] = people.Person{ID: u.ID, Email: ps[i].Email, Name: ps[i].Name, RegisteredAt: u.CreatedAt}
	}
	return out, created, nil
}

// demoPermit is the Permit stand-in as the demo seed sees it.
type demoPermit struct {
	pm     *permit.Server
	tenant string
}

func (d demoPermit) Import(ps []people.Person) error {
	in := make([]permit.ImportedUser, len(ps))
	for i, p := range ps {
		in[i] = permit.ImportedUser{Key: p.ID, Email: p.Email, FirstName: p.Name, Role: people.Bucket(p.Roles), Tenant: d.tenant}
	}
	_, err := d.pm.ImportUsers(in)
	return err
}

func newDirectory(s appconfig.Settings) (*permitdir.Client, error) {
	return permitdir.New(permitdir.Config{
		APIKey:  s.Permit.APIKey,
		APIURL:  s.Permit.APIURL,
		Tenant:  s.Permit.Tenant,
		Timeout: s.Permit.Timeout,
	})
}
