package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/logtoapi"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
	"reportgate/internal/progress"
	"reportgate/internal/provision"
	"reportgate/internal/reqid"
)

const backfillUsage = `Usage:
  reportgate backfill [--dry-run] [--start-page N]

Walks every Logto user (Management API) and repairs what lost webhooks left
behind: queues a sync for users not yet synced, revokes the sessions of
suspended users, deletes here the people gone from Logto. Safe to run again.
Needs the serve settings and LOGTO_M2M_APP_ID / LOGTO_M2M_APP_SECRET.
`

// backfill repairs what lost webhooks left behind (people.Service.Backfill
// says how); --start-page resumes an interrupted run.
func backfill(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "report what would be done, change nothing")
	startPage := fs.Int("start-page", 1, "resume from this Management API page (of 100 users)")
	if help, err := parseFlags(fs, backfillUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	if *startPage < 1 {
		return errors.New("--start-page must be at least 1")
	}
	s, err := config.LoadEnvironment(getenv)
	if err != nil {
		return err
	}
	api, err := logtoapi.FromSettings(s.Logto)
	if err != nil {
		return err
	}
	db, err := database.OpenMigrated(ctx, s.DatabaseURL, provision.Migrate)
	if err != nil {
		return err
	}
	defer db.Close()
	dir, err := permitdir.FromSettings(s.Permit)
	if err != nil {
		return err
	}
	// Only enqueues: the app's workers do the Permit writes.
	// Erase as in the app: a deletion found here erases the person's data
	// in its tombstone transaction.
	prov, err := provision.New(provision.Config{DB: db, Permit: dir, Logto: api, DefaultRole: s.Permit.DefaultRole,
		MaxEventAge: s.EventMaxAge, Logger: reqid.NewLogger(stderr, s.LogLevel, false), Erase: people.EraseTx})
	if err != nil {
		return err
	}
	persons := people.New(people.Config{Store: people.NewStore(db, nil), Sync: prov, Logto: api})
	bar := progress.New(stdout, "backfill", "users")
	b, err := persons.Backfill(ctx, people.BackfillOptions{StartPage: *startPage, DryRun: *dryRun, Progress: bar.Show})
	bar.Done()
	if *dryRun {
		fmt.Fprintf(stdout, "backfill (dry run, nothing changed): %d Logto users seen; would queue %d sync jobs, revoke the sessions of %d suspended, delete %d here\n",
			b.Seen, b.Queued, b.Suspended, b.Deleted)
	} else {
		fmt.Fprintf(stdout, "backfill: %d Logto users seen, %d sync jobs queued, %d suspended (sessions revoked), %d deleted here\n",
			b.Seen, b.Queued, b.Suspended, b.Deleted)
	}
	if b.Unconfirmed > 0 {
		fmt.Fprintf(stdout, "backfill: kept %d people missing from Logto's list whom Logto could not be asked about; run it again\n", b.Unconfirmed)
	}
	switch {
	case err != nil && b.Unconfirmed > 0:
		// The walk finished; only the check of the missing failed.
		return err
	case err != nil:
		return fmt.Errorf("%w (resume with --start-page %d)", err, b.Page)
	}
	return nil
}
