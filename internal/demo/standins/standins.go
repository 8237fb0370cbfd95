// Package standins runs the demo on the local Logto and Permit stand-ins,
// as `reportgate dev` and `reportgate devstack` need them: it starts them
// (devstack), brings the Permit stand-in up to the app's policy, gives the
// demo accounts their roles, and adapts the stand-ins to the interfaces
// package demo seeds through. It is where the product's policy and people
// meet the stand-ins, so that neither imports the other; only cmd and
// tests import it.
package standins

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/demo"
	"reportgate/internal/devstack"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
	"reportgate/internal/policy"
)

// Options say where and how the stand-ins run.
type Options struct {
	DataDir        string
	Listeners      *devstack.Listeners
	PermitDelay    time.Duration
	AppBaseURLs    []string
	WebhookURL     string
	WebhookRetries bool
	// Settings are the app's: the stand-ins accept its credentials.
	Settings config.Settings
}

// Stack is the running stand-ins, seeded for the demo.
type Stack struct {
	*devstack.Stack
	tenant string
}

// Start serves the Logto and Permit stand-ins, brings the Permit
// stand-in's schema up to the policy and gives the demo accounts their
// Permit users and roles.
func Start(ctx context.Context, opts Options, logger *slog.Logger) (*Stack, error) {
	s := opts.Settings
	pol, err := policy.Default()
	if err != nil {
		return nil, err
	}
	stack, err := devstack.Start(opts.Listeners, devstack.Config{
		DataDir:           opts.DataDir,
		AppID:             s.Logto.AppID,
		AppSecret:         s.Logto.AppSecret,
		M2MAppID:          s.Logto.M2MAppID,
		M2MAppSecret:      s.Logto.M2MAppSecret,
		AppBaseURLs:       opts.AppBaseURLs,
		WebhookURL:        opts.WebhookURL,
		WebhookSigningKey: s.Logto.WebhookSigningKey,
		WebhookRetries:    opts.WebhookRetries,
		Permit:            permit.Config{APIKey: s.Permit.APIKey, Schema: Schema(pol), PropagationDelay: opts.PermitDelay},
		Logger:            logger,
	})
	if err != nil {
		return nil, err
	}
	st := &Stack{Stack: stack, tenant: s.Permit.Tenant}
	if err := ApplyPolicy(ctx, s.Permit.APIKey, opts.Listeners.PermitURL, pol); err != nil {
		st.Shutdown()
		return nil, err
	}
	if err := st.seedRoles(ctx, s.Permit); err != nil {
		st.Shutdown()
		return nil, err
	}
	return st, nil
}

// Schema is pol in the Permit stand-in's own types, which it has because
// the stand-ins import nothing of the product. The element types have the
// same fields, so a field added to one side and not the other stops this
// from compiling.
func Schema(pol policy.Policy) permit.Schema {
	var sc permit.Schema
	for _, r := range pol.Resources {
		sc.Resources = append(sc.Resources, permit.Resource(r))
	}
	for _, r := range pol.Roles {
		sc.Roles = append(sc.Roles, permit.Role(r))
	}
	return sc
}

// ApplyPolicy brings the Permit stand-in's schema up to pol, as `policy
// apply` would. A data directory from before a policy change keeps its old
// schema (the stand-in, like Permit, lets persisted state win), so a
// permission added since (audit:view) would otherwise be missing. An
// up-to-date schema costs only reads.
func ApplyPolicy(ctx context.Context, apiKey, permitURL string, pol policy.Policy) error {
	client, err := policy.Remote{APIKey: apiKey, APIURL: permitURL}.Client()
	if err == nil {
		_, err = policy.Apply(ctx, client, pol, false, false, io.Discard)
	}
	if err != nil {
		return fmt.Errorf("apply the policy to the Permit stand-in: %w", err)
	}
	return nil
}

// Accounts are the demo accounts, as package demo takes them.
func Accounts() []demo.Account {
	in := devstack.DemoAccounts()
	out := make([]demo.Account, len(in))
	for i, a := range in {
		out[i] = demo.Account(a)
	}
	return out
}

// seedRoles gives the demo accounts their Permit users and roles, through
// the directory client the app uses.
func (st *Stack) seedRoles(ctx context.Context, p config.Permit) error {
	dir, err := permitdir.FromSettings(p)
	if err != nil {
		return err
	}
	return demo.SeedRoles(ctx, demoLogto{st.Logto}, dir, Accounts())
}

// MarkSynced records the demo accounts in the app as synced with their
// roles.
func (st *Stack) MarkSynced(ctx context.Context, app demo.Synced) error {
	return demo.MarkSynced(ctx, demoLogto{st.Logto}, app, Accounts())
}

// SeedHistory seeds the demo history in both stand-ins and the app.
func (st *Stack) SeedHistory(ctx context.Context, app demo.Synced, now time.Time) (int, error) {
	return demo.SeedHistory(ctx, demoLogto{st.Logto}, demoPermit{st.Permit, st.tenant}, app, now)
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
