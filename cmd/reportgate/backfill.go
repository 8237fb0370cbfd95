package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"reportgate/internal/logtoapi"
	"reportgate/internal/people"
	"reportgate/internal/provision"
	"reportgate/internal/webhook"
)

// backfillPageSize is the Management API page size (its maximum).
const backfillPageSize = 100

const backfillUsage = `Usage:
  reportgate backfill [--dry-run] [--start-page N]

Walks every Logto user (Management API) and repairs what lost webhooks left
behind: queues a sync for users not yet synced, revokes the sessions of
suspended users, deletes here the people gone from Logto. Safe to run again.
Needs the serve settings and LOGTO_M2M_APP_ID / LOGTO_M2M_APP_SECRET.
`

// backfill walks every user in Logto's Management API and repairs what lost
// webhooks left behind: users not yet synced get a sync job (Reconcile, which
// never re-grants a role to someone already synced), suspended users have
// their sessions revoked, and people known here but gone from Logto are
// deleted. Every step is idempotent, so running it twice is safe, and
// --start-page resumes an interrupted run.
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
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	api, err := newLogtoAPI(s)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, s.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	dir, err := newDirectory(s)
	if err != nil {
		return err
	}
	// Only enqueues: the app's workers do the Permit writes.
	prov, err := provision.New(provision.Config{DB: db, Permit: dir, Logto: api, DefaultRole: s.Permit.DefaultRole,
		MaxEventAge: s.EventMaxAge, Logger: newLogger(stderr, s.LogLevel, false)})
	if err != nil {
		return err
	}
	b := &backfiller{prov: prov, api: api, users: people.NewStore(db, nil), dryRun: *dryRun,
		progress: newProgress(stdout)}
	err = b.run(ctx, *startPage)
	b.progress.done()
	if *dryRun {
		fmt.Fprintf(stdout, "backfill (dry run, nothing changed): %d Logto users seen; would queue %d sync jobs, revoke the sessions of %d suspended, delete %d here\n",
			b.seen, b.queued, b.suspended, b.deleted)
	} else {
		fmt.Fprintf(stdout, "backfill: %d Logto users seen, %d sync jobs queued, %d suspended (sessions revoked), %d deleted here\n",
			b.seen, b.queued, b.suspended, b.deleted)
	}
	if err != nil {
		return fmt.Errorf("%w (resume with --start-page %d)", err, b.page)
	}
	return nil
}

type backfiller struct {
	prov     *provision.Service
	api      *logtoapi.Client
	users    *people.Store
	dryRun   bool
	progress *progress

	page                             int
	seen, queued, suspended, deleted int
}

func (b *backfiller) run(ctx context.Context, startPage int) error {
	inLogto := map[string]bool{}
	complete := startPage == 1
	for b.page = startPage; ; b.page++ {
		users, total, err := b.api.ListUsers(ctx, b.page, backfillPageSize)
		if err != nil {
			return fmt.Errorf("list Logto users, page %d: %w", b.page, err)
		}
		for _, u := range users {
			inLogto[u.ID] = true
			if err := b.one(ctx, u); err != nil {
				return err
			}
			b.seen++
		}
		b.progress.show((b.page-1)*backfillPageSize+len(users), total)
		if len(users) < backfillPageSize || b.page*backfillPageSize >= total {
			break
		}
	}
	if !complete {
		// A resumed run has not seen every Logto user, so it cannot tell
		// who is missing from Logto.
		return nil
	}
	return b.deleteMissing(ctx, inLogto)
}

func (b *backfiller) one(ctx context.Context, u webhook.User) error {
	st, err := b.prov.State(ctx, u.ID)
	if err != nil {
		return err
	}
	if u.IsSuspended {
		b.suspended++
		if !b.dryRun {
			if err := b.synthesize(ctx, webhook.EventUserSuspension, u, true); err != nil {
				return err
			}
		}
	}
	if st.Status == provision.StatusSynced || st.Status == provision.StatusDeleted {
		return nil
	}
	b.queued++
	if b.dryRun {
		return nil
	}
	return b.prov.Reconcile(ctx, u)
}

// deleteMissing deletes people known here whose Logto account is gone.
func (b *backfiller) deleteMissing(ctx context.Context, inLogto map[string]bool) error {
	for offset := 0; ; offset += people.MaxListLimit {
		known, err := b.users.List(ctx, people.MaxListLimit, offset)
		if err != nil {
			return err
		}
		for _, u := range known {
			if inLogto[u.ID] {
				continue
			}
			b.deleted++
			if !b.dryRun {
				if err := b.synthesize(ctx, webhook.EventUserDeleted, webhook.User{ID: u.ID}, false); err != nil {
					return err
				}
				if err := b.users.Delete(ctx, u.ID); err != nil {
					return err
				}
			}
		}
		if len(known) < people.MaxListLimit {
			return nil
		}
	}
}

// synthesize records the event whose webhook was lost, through the same
// durable path as a delivery, marked as coming from the backfill.
func (b *backfiller) synthesize(ctx context.Context, name string, u webhook.User, suspended bool) error {
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{"event": name, "createdAt": now.Format(time.RFC3339Nano),
		"source": "reportgate backfill", "params": map[string]string{"userId": u.ID}})
	ev := webhook.Event{Name: name, CreatedAt: now, UserID: u.ID}
	if name == webhook.EventUserSuspension {
		ev.Suspended = &suspended
	}
	if _, err := b.prov.Ingest(ctx, body, ev); err != nil {
		return fmt.Errorf("record %s for %s: %w", name, u.ID, err)
	}
	return nil
}

// progress draws a bar on a terminal and plain lines elsewhere (logs, CI).
type progress struct {
	w        io.Writer
	terminal bool
	shown    bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) show(done, total int) {
	if total <= 0 {
		total = done
	}
	if !p.terminal {
		fmt.Fprintf(p.w, "backfill: %d/%d users\n", done, total)
		return
	}
	const width = 30
	filled := width
	if total > 0 {
		filled = width * done / total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d users", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
