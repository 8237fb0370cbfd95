package main

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/access"
	"reportgate/internal/people"
	"reportgate/internal/provision"
	"reportgate/internal/webhook"
)

// webhookSink records verified deliveries through the provisioning service.
type webhookSink struct {
	svc    *provision.Service
	users  *people.Store
	logger *slog.Logger
}

func (s webhookSink) Record(ctx context.Context, body []byte, ev webhook.Event) (string, error) {
	outcome, err := s.svc.Ingest(ctx, body, ev)
	if err != nil {
		return "", err
	}
	s.logger.DebugContext(ctx, "webhook ingested", "event", ev.Name, "outcome", outcome)
	if ev.Name == webhook.EventUserDeleted && outcome == provision.OutcomeAccepted {
		// Provisioning keeps only a tombstone; the report records go too.
		// Idempotent, so a failure answered 503 is finished by the retry
		// or by backfill.
		return string(outcome), s.users.Delete(ctx, ev.UserID)
	}
	return string(outcome), nil
}

// accessSetup says a deny is "access being set up" while the person's sync
// is queued or failing, or finished so recently that Permit's PDP may not
// have the grant yet (writes reach Permit's PDP only after they propagate).
//
// An approved access request counts too: while its grant job runs, and for
// the same grace after it.
type accessSetup struct {
	svc    *provision.Service
	grants *access.Service // nil: no access requests
	grace  time.Duration
	now    func() time.Time
}

func (a accessSetup) Pending(ctx context.Context, userID string) (bool, error) {
	if a.grants != nil {
		if pending, err := a.grants.Pending(ctx, userID); err != nil || pending {
			return pending, err
		}
	}
	st, err := a.svc.State(ctx, userID)
	if err != nil {
		return false, err
	}
	switch st.Status {
	case provision.StatusQueued, provision.StatusFailed:
		return true, nil
	case provision.StatusSynced:
		return !st.SyncedAt.IsZero() && a.now().Sub(st.SyncedAt) < a.grace, nil
	}
	return false, nil
}

// SyncStates are the sync statuses of userIDs, in one query.
func (a accessSetup) SyncStates(ctx context.Context, userIDs []string) (map[string]string, error) {
	states, err := a.svc.States(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(states))
	for id, st := range states {
		out[id] = st.Status
	}
	return out, nil
}

// provisionJobs enqueues access-grant jobs on the provisioning River
// client; svc is set once that client exists, before the app serves.
type provisionJobs struct {
	svc *provision.Service
}

func (j *provisionJobs) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return j.svc.InsertTx(ctx, tx, args, opts)
}
