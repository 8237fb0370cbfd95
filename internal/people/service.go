package people

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"time"

	"reportgate/internal/access"
	"reportgate/internal/audit"
	"reportgate/internal/auth"
	"reportgate/internal/provision"
	"reportgate/internal/webhook"
)

// Sync is the durable provisioning sync (provision.Service).
type Sync interface {
	Ingest(ctx context.Context, body []byte, ev webhook.Event) (provision.Outcome, error)
	Reconcile(ctx context.Context, u webhook.User) error
	MarkSynced(ctx context.Context, u webhook.User, grantedDefaultRole bool) error
	State(ctx context.Context, userID string) (provision.State, error)
	States(ctx context.Context, userIDs []string) (map[string]provision.State, error)
}

// PermitRoles reads and writes a person's user and roles in Permit
// (permitdir).
type PermitRoles interface {
	SyncUser(ctx context.Context, key, email, name string) error
	AssignRole(ctx context.Context, key, role string) error
	UnassignRole(ctx context.Context, key, role string) error
	AssignedRoles(ctx context.Context, key string) ([]string, error)
}

// Decisions forgets a person's cached permission decisions, on every
// replica (authz.Checker).
type Decisions interface {
	Forget(userKey string)
}

// Trail records audit entries (audit.Trail).
type Trail interface {
	Record(ctx context.Context, e audit.Entry) error
}

// Grants tells whether an approved access request is still being granted
// or granted too recently to have reached Permit's PDP (access.Service).
type Grants interface {
	Pending(ctx context.Context, userID string) (bool, error)
}

// Sessions counts and ends people's sessions (session.Store).
type Sessions interface {
	CountActive(ctx context.Context, userIDs []string) (map[string]int, error)
	RevokeUser(ctx context.Context, userID string) (int, error)
}

// LogtoUsers pages through Logto's users and looks one up
// (logtoapi.Client). GetUser answers an error wrapping
// logtoapi.ErrNotFound for a user Logto does not have.
type LogtoUsers interface {
	ListUsers(ctx context.Context, page, pageSize int) ([]webhook.User, int, error)
	GetUser(ctx context.Context, id string) (webhook.User, error)
}

// Config is what a Service works with. Only Store is required; a command
// that uses a part of the lifecycle gives what that part needs.
type Config struct {
	Store     *Store
	Sync      Sync
	Permit    PermitRoles
	Decisions Decisions  // nil: nothing cached to forget
	Trail     Trail      // nil: found role changes go unrecorded; grant needs it
	Grants    Grants     // nil: no access requests
	Sessions  Sessions   // for /admin/users
	Logto     LogtoUsers // for backfill and lookups by email
	Logger    *slog.Logger
	// PermitTimeout bounds each role snapshot refresh (its Permit call and
	// the write).
	PermitTimeout time.Duration
	// Grace is how long after a finished sync a deny still shows "access
	// being set up" (writes reach Permit's PDP only after they propagate).
	Grace time.Duration
	Now   func() time.Time
}

// Service is a person's lifecycle in reportgate: sign-in, sync, role
// changes, access being set up, deletion and erasure. Every rule about a
// person that spans the record, Permit and the sync lives here.
type Service struct {
	store     *Store
	sync      Sync
	permit    PermitRoles
	decisions Decisions
	trail     Trail
	grants    Grants
	sessions  Sessions
	logto     LogtoUsers
	logger    *slog.Logger
	timeout   time.Duration
	grace     time.Duration
	now       func() time.Time
}

// New returns the Service over cfg.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, sync: cfg.Sync, permit: cfg.Permit, decisions: cfg.Decisions, trail: cfg.Trail,
		grants: cfg.Grants, sessions: cfg.Sessions, logto: cfg.Logto, logger: cfg.Logger,
		timeout: cmp.Or(cfg.PermitTimeout, provision.DefaultCallTimeout), grace: cfg.Grace, now: cfg.Now}
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// UseSync sets the provisioning sync. The app builds its sync after the
// Service, because the sync calls back into it (UserChanged, Granted); it
// must be set before the Service is used.
func (s *Service) UseSync(sync Sync) { s.sync = sync }

// SignedIn records a person who just signed in, then makes sure they are
// synced: a lost webhook, or a person who existed before the app, is
// caught here. Their role snapshot is refreshed in the background, since
// sign-in must not wait on Permit's API.
func (s *Service) SignedIn(ctx context.Context, who auth.Identity) error {
	p := FromIdentity(who)
	if err := s.store.RecordSignIn(ctx, p); err != nil {
		return err
	}
	go s.refreshAudited(ctx, p.ID, "at sign-in")
	return s.sync.Reconcile(ctx, p.logto())
}

// refreshAudited refreshes the role snapshot and records what changed in
// Permit since the last one. Only at sign-in: after a sync or a grant the
// change has its own entries, and a second one would repeat them.
func (s *Service) refreshAudited(ctx context.Context, id, where string) {
	// Runs after the sign-in request has ended.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*s.timeout)
	defer cancel()
	before, err := s.store.Get(ctx, id)
	if err != nil {
		s.logger.WarnContext(ctx, "refresh role snapshot", "user", id, "err", err)
		return
	}
	s.refreshRoles(ctx, id)
	after, err := s.store.Get(ctx, id)
	if err != nil || before.RolesCheckedAt.IsZero() || after.RolesCheckedAt.Equal(before.RolesCheckedAt) {
		return // no earlier snapshot to compare with, or nothing changed
	}
	if s.trail == nil {
		return
	}
	for _, e := range audit.FoundChanged(id, cmp.Or(after.Name, after.Email), before.Roles, after.Roles, where) {
		if err := s.trail.Record(ctx, e); err != nil {
			s.logger.WarnContext(ctx, "audit found role change", "user", id, "err", err)
		}
	}
}

// refreshRoles sets the role snapshot behind the report's split by role
// (and /admin/users) to what Permit holds, whenever reportgate learns about
// a person; bounded by the Permit timeout, and outliving the request.
func (s *Service) refreshRoles(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	roles, err := s.permit.AssignedRoles(ctx, id)
	if err == nil {
		err = s.store.SetRoles(ctx, id, roles)
	}
	if err != nil {
		s.logger.WarnContext(ctx, "refresh role snapshot", "user", id, "err", err)
	}
}

// Forget drops the person's cached decisions on every replica, so their
// next page on any of them asks the PDP again.
func (s *Service) Forget(id string) {
	if s.decisions != nil {
		s.decisions.Forget(id)
	}
}

// UserChanged is what follows a sync that changed a person: the record
// takes what the sync learnt, a cached deny from before the grant is
// dropped (it would hide the grant for the deny TTL), and the snapshot is
// refreshed.
func (s *Service) UserChanged(ctx context.Context, u webhook.User) {
	if err := s.store.Upsert(ctx, FromWebhook(u)); err != nil {
		s.logger.WarnContext(ctx, "record synced user", "user", u.ID, "err", err)
	}
	s.Forget(u.ID)
	s.refreshRoles(ctx, u.ID)
}

// Granted is what follows an approved access request's grant landing in
// Permit.
func (s *Service) Granted(ctx context.Context, id string) {
	s.Forget(id)
	s.refreshRoles(ctx, id)
}

// Record records a verified webhook delivery through the sync and says
// what it made of it. An accepted deletion has erased the person's record
// in the tombstone's own transaction (EraseTx), so all that is left is to
// tell the report that the sign-up counts moved.
func (s *Service) Record(ctx context.Context, body []byte, ev webhook.Event) (string, error) {
	outcome, err := s.sync.Ingest(ctx, body, ev)
	if err != nil {
		return "", err
	}
	s.logger.DebugContext(ctx, "webhook ingested", "event", ev.Name, "outcome", outcome)
	if ev.Name == webhook.EventUserDeleted && outcome == provision.OutcomeAccepted {
		s.store.countsChanged(true)
	}
	return string(outcome), nil
}

// EraseTx erases a deleted person's personal data, in the sync's tombstone
// transaction tx: their record and sign-up count here, and their name in
// the audit trail and the access requests. In that transaction the erasure
// commits with the tombstone or not at all: erasing after the commit could
// fail and never be retried, since Logto's retry of the deletion is then a
// duplicate. Whoever reports the counts is told after the commit (Record).
func EraseTx(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := deleteRecord(ctx, tx, id); err != nil {
		return fmt.Errorf("erase user %s: %w", id, err)
	}
	// Requests first: a grant job names the person from their request row,
	// so once that is blank, no entry it writes after the trail's erasure
	// names them again.
	if err := access.EraseTx(ctx, tx, id); err != nil {
		return err
	}
	return audit.EraseTx(ctx, tx, id)
}

// Pending says a deny is "access being set up": an approved access
// request is being granted or was granted within the grace, or the
// person's sync is queued or failing, or finished within the grace.
func (s *Service) Pending(ctx context.Context, id string) (bool, error) {
	if s.grants != nil {
		if pending, err := s.grants.Pending(ctx, id); err != nil || pending {
			return pending, err
		}
	}
	st, err := s.sync.State(ctx, id)
	if err != nil {
		return false, err
	}
	switch st.Status {
	case provision.StatusQueued, provision.StatusFailed:
		return true, nil
	case provision.StatusSynced:
		return !st.SyncedAt.IsZero() && s.now().Sub(st.SyncedAt) < s.grace, nil
	}
	return false, nil
}

// SyncStates are the sync statuses of ids ("synced", "queued", …), in one
// query.
func (s *Service) SyncStates(ctx context.Context, ids []string) (map[string]string, error) {
	states, err := s.sync.States(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(states))
	for id, st := range states {
		out[id] = st.Status
	}
	return out, nil
}

// MarkSynced records people put straight into Permit with their roles (the
// dev seed) as already synced, so nobody "sets up" their access and nobody
// is given the default role later (a person with no role must stay so),
// and records them here with ps' role snapshots, so the report and
// /admin/users show them at once.
func (s *Service) MarkSynced(ctx context.Context, ps []Person) error {
	if err := s.store.UpsertMany(ctx, ps); err != nil {
		return err
	}
	for _, p := range ps {
		if err := s.sync.MarkSynced(ctx, p.logto(), true); err != nil {
			return err
		}
	}
	return nil
}

// Find returns a page of the people matching search (see Store.Find).
func (s *Service) Find(ctx context.Context, search string, limit, offset int) ([]Person, int, error) {
	return s.store.Find(ctx, search, limit, offset)
}

// Get returns the record of id (see Store.Get).
func (s *Service) Get(ctx context.Context, id string) (Person, error) { return s.store.Get(ctx, id) }

// Names returns the records of ids that exist, by id (see Store.Names).
func (s *Service) Names(ctx context.Context, ids []string) (map[string]Person, error) {
	return s.store.Names(ctx, ids)
}

// WithRoleLock runs fn holding the role lock (see Store.WithRoleLock).
func (s *Service) WithRoleLock(ctx context.Context, fn func(*RoleTx) error) error {
	return s.store.WithRoleLock(ctx, fn)
}

// CountSessions counts each person's active sessions.
func (s *Service) CountSessions(ctx context.Context, ids []string) (map[string]int, error) {
	return s.sessions.CountActive(ctx, ids)
}

// EndSessions ends every session of the person, on every device.
func (s *Service) EndSessions(ctx context.Context, id string) (int, error) {
	return s.sessions.RevokeUser(ctx, id)
}
