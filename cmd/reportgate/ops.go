package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/logtoapi"
	"reportgate/internal/policy"
	"reportgate/internal/provision"
	"reportgate/internal/webhook"
)

// loadSettings reads the same settings as serve (environment, then .env).
func loadSettings(getenv func(string) string) (config.Settings, error) {
	dotenv, err := loadDotEnv()
	if err != nil {
		return config.Settings{}, fmt.Errorf("read .env: %w", err)
	}
	return config.Load(config.Layered(config.FromGetenv(getenv), config.FromMap(dotenv)))
}

// migrate applies the app's and the job queue's migrations, for deployments
// that migrate before rolling out (serve also migrates at start-up).
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("migrate takes no arguments")
	}
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, s.DatabaseURL)
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

// grant gives a person a role in Permit — the way to make the first admin
// of a fresh Permit environment, before anyone can use /admin/users.
func grant(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grant", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the person's email address in Logto")
	role := fs.String("role", "", "the role to give (viewer, analyst, admin)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || *role == "" {
		fs.Usage()
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
	if err := dir.SyncUser(ctx, u.ID, u.Email, u.Name); err != nil {
		return fmt.Errorf("create %s in Permit: %w", u.Email, err)
	}
	if err := dir.AssignRole(ctx, u.ID, *role); err != nil {
		return fmt.Errorf("assign %s to %s: %w", *role, u.Email, err)
	}
	fmt.Fprintf(stdout, "%s (%s) now has the %s role in tenant %s\n", u.Email, u.ID, *role, s.Permit.Tenant)
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
