package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"reportgate/internal/audit"
	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/logtoapi"
	"reportgate/internal/people"
	"reportgate/internal/policy"
	"reportgate/internal/provision"
	"reportgate/internal/webhook"
)

// environment is where every command reads its settings: the process
// environment, then ./.env.
func environment(getenv func(string) string) (config.Lookup, error) {
	dotenv, err := loadDotEnv()
	if err != nil {
		return nil, fmt.Errorf("read .env: %w", err)
	}
	return config.Layered(config.FromGetenv(getenv), config.FromMap(dotenv)), nil
}

// loadSettings reads the same settings as serve (environment, then .env).
func loadSettings(getenv func(string) string) (config.Settings, error) {
	settings, err := environment(getenv)
	if err != nil {
		return config.Settings{}, err
	}
	return config.Load(settings)
}

const migrateUsage = `Usage:
  reportgate migrate

Applies the app's and the job queue's database migrations (serve also does
at start-up). Needs only REPORTGATE_DATABASE_URL (environment or ./.env).
`

// migrate applies the app's and the job queue's migrations, for deployments
// that migrate before rolling out (serve also migrates at start-up).
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if help, err := parseFlags(fs, migrateUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate takes no arguments")
	}
	settings, err := environment(getenv)
	if err != nil {
		return err
	}
	// Only the database: migrating must not need the app's other secrets.
	url, _ := settings("REPORTGATE_DATABASE_URL")
	if url == "" {
		return errors.New("REPORTGATE_DATABASE_URL is required (the database to migrate)")
	}
	db, err := openMigrated(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", db.Dialect)
	return nil
}

// openMigrated opens the app database with the app's and the job queue's
// migrations applied.
func openMigrated(ctx context.Context, url string) (*database.DB, error) {
	db, err := database.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := provision.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func newLogtoAPI(s config.Settings) (*logtoapi.Client, error) {
	if s.Logto.M2MAppID == "" {
		return nil, errors.New("LOGTO_M2M_APP_ID and LOGTO_M2M_APP_SECRET are needed for the Logto Management API")
	}
	return logtoapi.New(logtoapi.Config{
		Endpoint:  s.Logto.Endpoint,
		AppID:     s.Logto.M2MAppID,
		AppSecret: s.Logto.M2MAppSecret,
		Resource:  s.Logto.ManagementResource,
		Timeout:   s.Logto.Timeout,
	})
}

// findByEmail pages through Logto's users for one email address (the
// Management API's search matches more than emails, so the match is exact
// here).
func findByEmail(ctx context.Context, api *logtoapi.Client, email string) (webhook.User, error) {
	const pageSize = 100
	for page := 1; ; page++ {
		users, total, err := api.ListUsers(ctx, page, pageSize)
		if err != nil {
			return webhook.User{}, err
		}
		for _, u := range users {
			if strings.EqualFold(u.Email, email) {
				return u, nil
			}
		}
		if len(users) < pageSize || page*pageSize >= total {
			return webhook.User{}, fmt.Errorf("no Logto user with email %s", email)
		}
	}
}

const grantUsage = `Usage:
  reportgate grant --email E --role R

Sets a Logto user's role in Permit (in PERMIT_TENANT): R becomes their only
role. The way to make the first admin of a fresh Permit environment. Needs
the serve settings and LOGTO_M2M_APP_ID / LOGTO_M2M_APP_SECRET.
`

// grant sets a person's role in Permit — the way to make the first admin
// of a fresh Permit environment, before anyone can use /admin/users.
func grant(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grant", flag.ContinueOnError)
	email := fs.String("email", "", "the person's email address in Logto")
	role := fs.String("role", "", "the role to set (viewer, analyst, admin)")
	if help, err := parseFlags(fs, grantUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	if *email == "" || *role == "" {
		fmt.Fprint(stderr, grantUsage)
		return errors.New("grant needs --email and --role")
	}
	pol, err := policy.Default()
	if err != nil {
		return err
	}
	if _, ok := pol.Role(*role); !ok {
		return fmt.Errorf("unknown role %q (the policy has %s)", *role, strings.Join(roleKeys(pol), ", "))
	}
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	api, err := newLogtoAPI(s)
	if err != nil {
		return err
	}
	u, err := findByEmail(ctx, api, *email)
	if err != nil {
		return err
	}
	dir, err := newDirectory(s)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, s.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	err = setRole(ctx, dir, people.NewStore(db, nil), u, *role)
	// Written after the Permit calls, with their outcome.
	entry := audit.Entry{ActorID: audit.ActorCLI, Action: audit.RoleGranted, SubjectID: u.ID, SubjectName: u.Email,
		Role: *role, Detail: "reportgate grant; any other role removed"}
	if err != nil {
		entry.Action, entry.Detail = audit.RoleChangeFailed, "reportgate grant failed"
	}
	if auditErr := audit.New(db, 0, nil).Record(ctx, entry); auditErr != nil {
		err = errors.Join(err, auditErr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s) now has the %s role, and only it, in tenant %s\n", u.Email, u.ID, *role, s.Permit.Tenant)
	return nil
}

// roleDirectory is what setRole needs of Permit.
type roleDirectory interface {
	SyncUser(ctx context.Context, key, email, name string) error
	AssignRole(ctx context.Context, key, role string) error
	UnassignRole(ctx context.Context, key, role string) error
	AssignedRoles(ctx context.Context, key string) ([]string, error)
}

// roleSnapshot is the local copy of people's roles (the admin pages and the
// report's split by role read it).
type roleSnapshot interface {
	SetRoles(ctx context.Context, id string, roles []string) error
}

// setRole makes role the person's only role in the tenant. The new role is
// assigned first and the others removed after, so a failure half-way leaves
// the person with more access than before, never with none. The local
// snapshot is then set to what Permit holds; a person not recorded here yet
// gets theirs at their first sign-in or sync.
func setRole(ctx context.Context, dir roleDirectory, snapshot roleSnapshot, u webhook.User, role string) error {
	if err := dir.SyncUser(ctx, u.ID, u.Email, u.Name); err != nil {
		return fmt.Errorf("create %s in Permit: %w", u.Email, err)
	}
	if err := dir.AssignRole(ctx, u.ID, role); err != nil {
		return fmt.Errorf("assign %s to %s: %w", role, u.Email, err)
	}
	held, err := dir.AssignedRoles(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("roles of %s: %w", u.Email, err)
	}
	for _, other := range held {
		if other == role {
			continue
		}
		if err := dir.UnassignRole(ctx, u.ID, other); err != nil {
			return fmt.Errorf("remove %s from %s: %w", other, u.Email, err)
		}
	}
	if err := snapshot.SetRoles(ctx, u.ID, []string{role}); err != nil && !errors.Is(err, people.ErrNotFound) {
		return fmt.Errorf("record the role of %s here: %w", u.Email, err)
	}
	return nil
}

// roleKeys lists the policy's roles, the ones a person may be given.
func roleKeys(p policy.Policy) []string {
	keys := make([]string, 0, len(p.Roles))
	for _, r := range p.Roles {
		keys = append(keys, r.Key)
	}
	return keys
}
