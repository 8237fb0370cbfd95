package people

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"reportgate/internal/logtoapi"
	"reportgate/internal/provision"
	"reportgate/internal/webhook"
)

// Backfill is what a Backfill run did, or would do in a dry run.
type Backfill struct {
	// Page is the Management API page the run stopped on: resume an
	// interrupted run from it.
	Page                             int
	Seen, Queued, Suspended, Deleted int
	// Unconfirmed counts people known here but missing from the walk whom
	// Logto could not be asked about; they are kept (see deleteMissing).
	Unconfirmed int
}

// BackfillOptions shape a Backfill run.
type BackfillOptions struct {
	// StartPage resumes an interrupted run (1 walks everyone).
	StartPage int
	// DryRun counts what would be done and changes nothing.
	DryRun bool
	// Progress, if set, hears how many of Logto's total users are done
	// after each page.
	Progress func(done, total int)
}

// Backfill walks every user in Logto's Management API and repairs what
// lost webhooks left behind: users not yet synced get a sync job
// (Reconcile, which never re-grants a role to someone already synced),
// suspended users have their sessions revoked, and people known here but
// gone from Logto are deleted. Every step is idempotent, so running it
// twice is safe, and StartPage resumes an interrupted run. It only
// enqueues: the app's workers do the Permit writes.
func (s *Service) Backfill(ctx context.Context, opts BackfillOptions) (Backfill, error) {
	b := Backfill{}
	// By the store's clock, which stamps the records' FirstSeenAt.
	started := truncMillis(s.store.now())
	inLogto := map[string]bool{}
	var err error
	b.Page, err = s.eachLogtoPage(ctx, max(opts.StartPage, 1), func(users []webhook.User, page, total int) (bool, error) {
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		// One query for the page's sync states, not one per person.
		states, err := s.sync.States(ctx, ids)
		if err != nil {
			return false, err
		}
		for _, u := range users {
			inLogto[u.ID] = true
			if err := s.backfillOne(ctx, u, states[u.ID], opts.DryRun, &b); err != nil {
				return false, err
			}
			b.Seen++
		}
		if opts.Progress != nil {
			opts.Progress((page-1)*logtoPageSize+len(users), total)
		}
		return true, nil
	})
	if err != nil || opts.StartPage > 1 {
		// A resumed run has not seen every Logto user, so it cannot tell
		// who is missing from Logto.
		return b, err
	}
	return b, s.deleteMissing(ctx, inLogto, started, opts.DryRun, &b)
}

// backfillOne repairs u, whose sync state was st when their page was read.
func (s *Service) backfillOne(ctx context.Context, u webhook.User, st provision.State, dryRun bool, b *Backfill) error {
	if u.IsSuspended {
		b.Suspended++
		if !dryRun {
			if err := s.synthesize(ctx, webhook.EventUserSuspension, u.ID, true); err != nil {
				return err
			}
		}
	}
	if st.Status == provision.StatusSynced || st.Status == provision.StatusDeleted {
		return nil
	}
	b.Queued++
	if dryRun {
		return nil
	}
	return s.sync.Reconcile(ctx, u)
}

// deleteMissing deletes people known here whose Logto account is gone.
// It finds them all before deleting any: deleting while paging by offset
// would move later records into pages already read, and skip them.
//
// Missing from the walk is not gone: Logto's list is paged by offset, not
// a snapshot, so a deletion in Logto during the walk moves someone from a
// page not yet read into one already read, and a person who signs up
// during it (the list is newest first) lands on a page already read. And
// deletion cannot be undone (the tombstone is never lifted). So a person
// is deleted only when Logto answers, asked about them alone, that it has
// no such user; someone first recorded here after the walk began is left
// to their own webhooks. When Logto cannot be asked the person is kept,
// and the run ends with the first such error once the rest is done.
func (s *Service) deleteMissing(ctx context.Context, inLogto map[string]bool, started time.Time, dryRun bool, b *Backfill) error {
	var missing []string
	for offset := 0; ; offset += MaxListLimit {
		known, err := s.store.List(ctx, MaxListLimit, offset)
		if err != nil {
			return err
		}
		for _, p := range known {
			if !inLogto[p.ID] && !p.FirstSeenAt.After(started) {
				missing = append(missing, p.ID)
			}
		}
		if len(known) < MaxListLimit {
			break
		}
	}
	var unconfirmed error
	for _, id := range missing {
		gone, err := s.goneFromLogto(ctx, id)
		if err != nil {
			b.Unconfirmed++
			s.logger.WarnContext(ctx, "backfill keeps a person Logto could not be asked about", "user", id, "err", err)
			if unconfirmed == nil {
				unconfirmed = fmt.Errorf("backfill kept people missing from Logto's list it could not confirm gone (first %s): %w", id, err)
			}
			continue
		}
		if !gone {
			continue
		}
		b.Deleted++
		if dryRun {
			continue
		}
		if err := s.synthesize(ctx, webhook.EventUserDeleted, id, false); err != nil {
			return err
		}
		// A sync that erases in the tombstone's transaction (EraseTx) has
		// done this already; one built without Erase has not.
		if err := s.store.Delete(ctx, id); err != nil {
			return err
		}
	}
	if unconfirmed != nil {
		return fmt.Errorf("%w (%d in all)", unconfirmed, b.Unconfirmed)
	}
	return nil
}

// goneFromLogto says whether Logto answers that it has no user id; any
// other failure is an error, and never taken for gone.
func (s *Service) goneFromLogto(ctx context.Context, id string) (bool, error) {
	_, err := s.logto.GetUser(ctx, id)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, logtoapi.ErrNotFound):
		return true, nil
	}
	return false, fmt.Errorf("ask Logto about %s: %w", id, err)
}

// synthesize records the event whose webhook was lost, through the same
// durable path as a delivery, marked as coming from the backfill.
func (s *Service) synthesize(ctx context.Context, name, id string, suspended bool) error {
	now := s.now().UTC()
	body, _ := json.Marshal(map[string]any{"event": name, "createdAt": now.Format(time.RFC3339Nano),
		"source": "reportgate backfill", "params": map[string]string{"userId": id}})
	ev := webhook.Event{Name: name, CreatedAt: now, UserID: id}
	if name == webhook.EventUserSuspension {
		ev.Suspended = &suspended
	}
	if _, err := s.sync.Ingest(ctx, body, ev); err != nil {
		return fmt.Errorf("record %s for %s: %w", name, id, err)
	}
	return nil
}
