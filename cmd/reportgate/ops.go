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
	"reportgate/internal/permitdir"
	"reportgate/internal/policy"
	"reportgate/internal/provision"
)

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
	settings, err := config.Environment(getenv)
	if err != nil {
		return err
	}
	// Only the database: migrating must not need the app's other secrets.
	url, _ := settings("REPORTGATE_DATABASE_URL")
	if url == "" {
		return errors.New("REPORTGATE_DATABASE_URL is required (the database to migrate)")
	}
	db, err := database.OpenMigrated(ctx, url, provision.Migrate)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", db.Dialect)
	return nil
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
		return fmt.Errorf("unknown role %q (the policy has %s)", *role, strings.Join(pol.RoleKeys(), ", "))
	}
	s, err := config.LoadEnvironment(getenv)
	if err != nil {
		return err
	}
	api, err := logtoapi.FromSettings(s.Logto)
	if err != nil {
		return err
	}
	dir, err := permitdir.FromSettings(s.Permit)
	if err != nil {
		return err
	}
	db, err := database.OpenMigrated(ctx, s.DatabaseURL, provision.Migrate)
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
