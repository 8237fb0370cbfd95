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
	dir, err := newDirectory(s)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, s.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	persons := people.New(people.Config{Store: people.NewStore(db, nil), Permit: dir, Logto: api, Trail: audit.New(db, 0, nil)})
	u, err := persons.GrantFromCommandLine(ctx, *email, *role)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s) now has the %s role, and only it, in tenant %s\n", u.Email, u.ID, *role, s.Permit.Tenant)
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
