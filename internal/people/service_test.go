package people_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"reportgate/internal/audit"
	"reportgate/internal/auth"
	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/logtoapi"
	"reportgate/internal/people"
	"reportgate/internal/provision"
	"reportgate/internal/webhook"
)

// fakeSync is the provisioning sync as a record of calls and a map of
// states.
type fakeSync struct {
	mu         sync.Mutex
	states     map[string]provision.State
	outcome    provision.Outcome
	ingested   []webhook.Event
	bodies     [][]byte
	reconciled []webhook.User
	marked     []webhook.User
}

func (f *fakeSync) Ingest(_ context.Context, body []byte, ev webhook.Event) (provision.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ingested, f.bodies = append(f.ingested, ev), append(f.bodies, body)
	return f.outcome, nil
}

func (f *fakeSync) Reconcile(_ context.Context, u webhook.User) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reconciled = append(f.reconciled, u)
	return nil
}

func (f *fakeSync) MarkSynced(_ context.Context, u webhook.User, granted bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !granted {
		return errors.New("demo people must be marked as granted the default role")
	}
	f.marked = append(f.marked, u)
	return nil
}

func (f *fakeSync) State(ctx context.Context, id string) (provision.State, error) {
	states, err := f.States(ctx, []string{id})
	return states[id], err
}

func (f *fakeSync) States(_ context.Context, ids []string) (map[string]provision.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]provision.State{}
	for _, id := range ids {
		st, ok := f.states[id]
		if !ok {
			st.Status = provision.StatusUnknown
		}
		out[id] = st
	}
	return out, nil
}

// fakePermit holds each person's roles.
type fakePermit struct {
	mu    sync.Mutex
	roles map[string][]string
}

func (f *fakePermit) SyncUser(context.Context, string, string, string) error { return nil }

func (f *fakePermit) AssignRole(_ context.Context, key, role string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.roles[key], role) {
		f.roles[key] = append(f.roles[key], role)
	}
	return nil
}

func (f *fakePermit) UnassignRole(_ context.Context, key, role string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles[key] = slices.DeleteFunc(f.roles[key], func(r string) bool { return r == role })
	return nil
}

func (f *fakePermit) AssignedRoles(_ context.Context, key string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.roles[key]), nil
}

// fakeDecisions notes whose decisions were forgotten.
type fakeDecisions struct {
	mu     sync.Mutex
	forgot []string
}

func (f *fakeDecisions) Forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgot = append(f.forgot, id)
}

// fakeTrail sends every entry on a channel.
type fakeTrail chan audit.Entry

func (f fakeTrail) Record(_ context.Context, e audit.Entry) error {
	f <- e
	return nil
}

type fakeGrants map[string]bool

func (f fakeGrants) Pending(_ context.Context, id string) (bool, error) { return f[id], nil }

// fakeLogto serves users in pages, and fails on page failOn (0: never);
// GetUser finds users there, or fails with getErr when set.
type fakeLogto struct {
	users  []webhook.User
	failOn int
	getErr error
}

func (f fakeLogto) GetUser(_ context.Context, id string) (webhook.User, error) {
	if f.getErr != nil {
		return webhook.User{}, f.getErr
	}
	return findUser(f.users, id)
}

// findUser is GetUser over users: Logto's not-found when id is not there.
func findUser(users []webhook.User, id string) (webhook.User, error) {
	if i := slices.IndexFunc(users, func(u webhook.User) bool { return u.ID == id }); i >= 0 {
		return users[i], nil
	}
	return webhook.User{}, fmt.Errorf("get logto user %s: %w", id, logtoapi.ErrNotFound)
}

func (f fakeLogto) ListUsers(_ context.Context, page, size int) ([]webhook.User, int, error) {
	if page == f.failOn {
		return nil, 0, errors.New("logto: 503")
	}
	from := min((page-1)*size, len(f.users))
	return f.users[from:min(from+size, len(f.users))], len(f.users), nil
}

type fixture struct {
	db        *database.DB
	store     *people.Store
	sync      *fakeSync
	permit    *fakePermit
	decisions *fakeDecisions
	trail     fakeTrail
	now       time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := databasetest.Open(t, database.SQLite)
	return &fixture{db: db, store: people.NewStore(db, nil), sync: &fakeSync{states: map[string]provision.State{}},
		permit: &fakePermit{roles: map[string][]string{}}, decisions: &fakeDecisions{}, trail: make(fakeTrail, 16),
		now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
}

func (f *fixture) service(cfg people.Config) *people.Service {
	cfg.Store, cfg.Sync, cfg.Permit, cfg.Decisions, cfg.Trail = f.store, f.sync, f.permit, f.decisions, f.trail
	cfg.Now = func() time.Time { return f.now }
	return people.New(cfg)
}

func (f *fixture) mustGet(t *testing.T, id string) people.Person {
	t.Helper()
	p, err := f.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignedInRecordsReconcilesAndAuditsFoundRoles: sign-in records the
// person, makes sure they are synced, and in the background records what
// changed in Permit since their last snapshot.
func TestSignedInRecordsReconcilesAndAuditsFoundRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	registered := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := f.store.Upsert(ctx, people.Person{ID: "u1", Email: "una@example.com", Roles: []string{"viewer"},
		RolesCheckedAt: registered}); err != nil {
		t.Fatal(err)
	}
	f.permit.roles["u1"] = []string{"analyst"}
	svc := f.service(people.Config{})

	who := auth.Identity{Subject: "u1", Email: "una@example.com", Name: "Una", RegisteredAt: registered}
	if err := svc.SignedIn(ctx, who); err != nil {
		t.Fatal(err)
	}
	if got := f.mustGet(t, "u1"); got.Name != "Una" || !got.RegisteredAt.Equal(registered) {
		t.Errorf("record after sign-in %+v, want the ID token's name and registration", got)
	}
	if len(f.sync.reconciled) != 1 || f.sync.reconciled[0] != (webhook.User{ID: "u1", Email: "una@example.com", Name: "Una", CreatedAt: registered}) {
		t.Errorf("reconciled %+v, want u1 as the ID token says", f.sync.reconciled)
	}
	var entries []string
	for range 2 {
		select {
		case e := <-f.trail:
			entries = append(entries, e.Action+" "+e.Role+" "+e.Detail)
		case <-time.After(10 * time.Second):
			t.Fatalf("audit entries so far %v, want a grant and a removal found at sign-in", entries)
		}
	}
	slices.Sort(entries)
	want := []string{audit.RoleGranted + " analyst found granted in Permit at sign-in",
		audit.RoleRemoved + " viewer found removed in Permit at sign-in"}
	if !slices.Equal(entries, want) {
		t.Errorf("audit entries %q, want %q", entries, want)
	}
	if got := f.mustGet(t, "u1"); !slices.Equal(got.Roles, []string{"analyst"}) {
		t.Errorf("snapshot %v, want Permit's [analyst]", got.Roles)
	}
}

// TestUserChangedAndGrantedForgetAndRefresh: after a sync or a grant the
// record follows, the cached decisions go and the snapshot is Permit's,
// with no audit entry of its own.
func TestUserChangedAndGrantedForgetAndRefresh(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(people.Config{})
	created := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.permit.roles["u1"] = []string{"viewer"}
	svc.UserChanged(ctx, webhook.User{ID: "u1", Email: "una@example.com", Name: "Una", CreatedAt: created})
	got := f.mustGet(t, "u1")
	if got.Email != "una@example.com" || !got.RegisteredAt.Equal(created) || !slices.Equal(got.Roles, []string{"viewer"}) {
		t.Errorf("record after a sync %+v, want the synced profile with Permit's roles", got)
	}
	f.permit.roles["u1"] = []string{"analyst", "viewer"}
	svc.Granted(ctx, "u1")
	if got := f.mustGet(t, "u1"); !slices.Equal(got.Roles, []string{"analyst", "viewer"}) {
		t.Errorf("snapshot after a grant %v, want [analyst viewer]", got.Roles)
	}
	if !slices.Equal(f.decisions.forgot, []string{"u1", "u1"}) {
		t.Errorf("forgotten %v, want u1 after the sync and after the grant", f.decisions.forgot)
	}
	if len(f.trail) != 0 {
		t.Errorf("%d audit entries: a sync or a grant writes its own", len(f.trail))
	}
}

// TestRecordTellsTheReportOfAcceptedDeletionsOnly: the record goes in the
// sync's tombstone transaction (EraseTx); after it Record drops the cached
// report, for an accepted User.Deleted and nothing else.
func TestRecordTellsTheReportOfAcceptedDeletionsOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		event   string
		outcome provision.Outcome
		told    bool
	}{
		{webhook.EventUserDeleted, provision.OutcomeAccepted, true},
		{webhook.EventUserDeleted, provision.OutcomeDuplicate, false},
		{webhook.EventUserSuspension, provision.OutcomeAccepted, false},
	} {
		f := newFixture(t)
		told := false
		f.store = f.store.OnSignupsChange(func() { told = true })
		f.sync.outcome = tc.outcome
		outcome, err := f.service(people.Config{}).Record(ctx, []byte(`{}`), webhook.Event{Name: tc.event, UserID: "u1"})
		if err != nil || outcome != string(tc.outcome) {
			t.Errorf("%s: outcome %q (%v), want %q", tc.event, outcome, err, tc.outcome)
		}
		if told != tc.told {
			t.Errorf("%s %s: report told %v, want %v", tc.event, tc.outcome, told, tc.told)
		}
	}
}

// noPermit is a Permit that accepts everything.
type noPermit struct{}

func (noPermit) SyncUser(context.Context, string, string, string) error { return nil }
func (noPermit) AssignRole(context.Context, string, string) error       { return nil }
func (noPermit) DeleteUser(context.Context, string) error               { return nil }

// delivery is a Logto data-hook body for id and its parsed event.
func delivery(t *testing.T, event, id string, at time.Time) ([]byte, webhook.Event) {
	t.Helper()
	user := map[string]any{"id": id, "username": nil, "primaryEmail": id + "@example.com", "primaryPhone": nil,
		"name": "Secret Name", "avatar": nil, "customData": map[string]any{}, "identities": map[string]any{},
		"lastSignInAt": nil, "createdAt": 1754042399000, "updatedAt": 1754042399000, "profile": map[string]any{},
		"applicationId": nil, "isSuspended": false}
	p := map[string]any{"event": event, "createdAt": at.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		"hookId": "hook0000000000000000a", "data": user}
	if event == webhook.EventUserCreated {
		p["path"], p["method"], p["status"], p["params"], p["matchedRoute"] = "/users", "POST", 200, map[string]any{}, "/users"
	} else {
		p["path"], p["method"], p["status"] = "/users/"+id, "DELETE", 204
		p["params"], p["matchedRoute"] = map[string]any{"userId": id}, "/users/:userId"
	}
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := webhook.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	return body, ev
}

// realSync is the provisioning sync over db, erasing as the app's does.
func realSync(t *testing.T, db *database.DB, onChanged func(context.Context, webhook.User)) *provision.Service {
	t.Helper()
	ctx := context.Background()
	if err := provision.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	prov, err := provision.New(provision.Config{DB: db, Permit: noPermit{}, MaxAttempts: 5,
		RetryBackoff: func(int) time.Duration { return 20 * time.Millisecond }, RescueAfter: time.Minute,
		PollInterval: 20 * time.Millisecond, Erase: people.EraseTx, OnUserChanged: onChanged})
	if err != nil {
		t.Fatal(err)
	}
	return prov
}

// TestRetriedDeletionErasesTheRecord: the record is erased with the
// tombstone, so when the erasure fails the deletion is not recorded
// either, and Logto's retry (the identical body) is accepted and erases
// it, rather than counting as a duplicate that leaves name and email.
func TestRetriedDeletionErasesTheRecord(t *testing.T) {
	db := databasetest.Open(t, database.SQLite)
	ctx := context.Background()
	store := people.NewStore(db, nil)
	svc := people.New(people.Config{Store: store})
	svc.UseSync(realSync(t, db, nil))
	const id = "retrydel0001"
	if err := store.Upsert(ctx, people.Person{ID: id, Email: id + "@example.com", Name: "Secret Name"}); err != nil {
		t.Fatal(err)
	}
	// The record's erasure fails once (a lost connection, a timeout …).
	if _, err := db.ExecContext(ctx, `CREATE TRIGGER erase_fails BEFORE DELETE ON users
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	body, ev := delivery(t, webhook.EventUserDeleted, id, time.Now())
	if _, err := svc.Record(ctx, body, ev); err == nil {
		t.Fatal("Record succeeded although the erasure failed")
	}
	if _, err := db.ExecContext(ctx, `DROP TRIGGER erase_fails`); err != nil {
		t.Fatal(err)
	}
	// Logto (post-#9410) retries the 503 with the identical body.
	outcome, err := svc.Record(ctx, body, ev)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := store.Get(ctx, id); err == nil {
		t.Errorf("after the retried deletion (outcome %s) the record of the deleted person is still there: %+v", outcome, p)
	}
}

// TestLateSyncCallbackLeavesADeletedRecordErased: a sync job that finished
// just before the person's User.Deleted calls UserChanged after the
// deletion has erased the record; the tombstone keeps the record (name,
// email, a place in the sign-ups) from being written back.
func TestLateSyncCallbackLeavesADeletedRecordErased(t *testing.T) {
	db := databasetest.Open(t, database.SQLite)
	ctx := context.Background()
	store := people.NewStore(db, nil)
	svc := people.New(people.Config{Store: store, Permit: &fakePermit{roles: map[string][]string{}}})
	entered, deleted, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once sync.Once
	prov := realSync(t, db, func(ctx context.Context, u webhook.User) {
		once.Do(func() {
			close(entered)
			<-deleted // the job's goroutine is descheduled here for a moment
			svc.UserChanged(ctx, u)
			close(done)
		})
	})
	svc.UseSync(prov)
	if err := prov.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		prov.Stop(ctx)
	})
	const id = "latesync0001"
	body, ev := delivery(t, webhook.EventUserCreated, id, time.Now().Add(-time.Second))
	if _, err := svc.Record(ctx, body, ev); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the sync job never finished")
	}
	body, ev = delivery(t, webhook.EventUserDeleted, id, time.Now())
	if o, err := svc.Record(ctx, body, ev); err != nil || o != string(provision.OutcomeAccepted) {
		t.Fatalf("deletion: %s %v", o, err)
	}
	if _, err := store.Get(ctx, id); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("record not erased by the deletion: %v", err)
	}
	close(deleted)
	<-done
	if p, err := store.Get(ctx, id); err == nil {
		t.Errorf("the deleted person's record is back after the late sync callback: %+v", p)
	}
}

func TestPendingIsAccessBeingSetUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	grace := 30 * time.Second
	f.sync.states = map[string]provision.State{
		"queued":   {Status: provision.StatusQueued},
		"failed":   {Status: provision.StatusFailed},
		"fresh":    {Status: provision.StatusSynced, SyncedAt: f.now.Add(-grace / 2)},
		"old":      {Status: provision.StatusSynced, SyncedAt: f.now.Add(-2 * grace)},
		"seeded":   {Status: provision.StatusSynced}, // marked synced: no grace
		"deleted":  {Status: provision.StatusDeleted},
		"granting": {Status: provision.StatusSynced},
	}
	svc := f.service(people.Config{Grace: grace, Grants: fakeGrants{"granting": true}})
	for id, want := range map[string]bool{"queued": true, "failed": true, "fresh": true, "old": false, "seeded": false,
		"deleted": false, "granting": true, "unknown": false} {
		if got, err := svc.Pending(context.Background(), id); err != nil || got != want {
			t.Errorf("Pending(%s) = %v (%v), want %v", id, got, err, want)
		}
	}
	states, err := svc.SyncStates(context.Background(), []string{"queued", "old", "unknown"})
	if err != nil || states["queued"] != provision.StatusQueued || states["old"] != provision.StatusSynced ||
		states["unknown"] != provision.StatusUnknown {
		t.Errorf("SyncStates = %v (%v)", states, err)
	}
}

// TestMarkSyncedRecordsWithRoles: seeded people are synced for the sync
// and recorded here with their roles.
func TestMarkSyncedRecordsWithRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	ps := []people.Person{{ID: "a", Email: "a@example.com", RegisteredAt: at, Roles: []string{"admin"}, RolesCheckedAt: at},
		{ID: "n", Email: "n@example.com", RegisteredAt: at, RolesCheckedAt: at}}
	if err := f.service(people.Config{}).MarkSynced(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	if len(f.sync.marked) != 2 || f.sync.marked[1] != (webhook.User{ID: "n", Email: "n@example.com", CreatedAt: at}) {
		t.Errorf("marked synced %+v", f.sync.marked)
	}
	if got := f.mustGet(t, "a"); !slices.Equal(got.Roles, []string{"admin"}) || !got.RegisteredAt.Equal(at) {
		t.Errorf("record %+v, want admin registered %s", got, at)
	}
	if got := f.mustGet(t, "n"); len(got.Roles) != 0 || got.RolesCheckedAt.IsZero() {
		t.Errorf("record %+v, want a checked empty snapshot", got)
	}
}

// TestBackfillRepairs: the unsynced are queued, the suspended revoked, the
// people gone from Logto deleted; a dry run changes nothing and a resumed
// run deletes nobody.
func TestBackfillRepairs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var users []webhook.User
	for i := range 150 {
		users = append(users, webhook.User{ID: fmt.Sprintf("u%03d", i), IsSuspended: i == 7})
	}
	setup := func(t *testing.T) *fixture {
		f := newFixture(t)
		for i := range 148 { // two not synced: u148, u149
			f.sync.states[users[i].ID] = provision.State{Status: provision.StatusSynced}
		}
		if err := f.store.Upsert(ctx, people.Person{ID: "gone", Email: "gone@example.com"}); err != nil {
			t.Fatal(err)
		}
		return f
	}

	f := setup(t)
	var progress []string
	b, err := f.service(people.Config{Logto: fakeLogto{users: users}}).Backfill(ctx, people.BackfillOptions{DryRun: true,
		Progress: func(done, total int) { progress = append(progress, fmt.Sprintf("%d/%d", done, total)) }})
	if err != nil || b != (people.Backfill{Page: 2, Seen: 150, Queued: 2, Suspended: 1, Deleted: 1}) {
		t.Errorf("dry run %+v (%v)", b, err)
	}
	if len(f.sync.ingested)+len(f.sync.reconciled) != 0 || !slices.Equal(progress, []string{"100/150", "150/150"}) {
		t.Errorf("dry run changed things (%d ingested, %d reconciled) or progress %v", len(f.sync.ingested), len(f.sync.reconciled), progress)
	}

	b, err = f.service(people.Config{Logto: fakeLogto{users: users}}).Backfill(ctx, people.BackfillOptions{})
	if err != nil || b.Queued != 2 || b.Deleted != 1 || len(f.sync.reconciled) != 2 {
		t.Errorf("backfill %+v (%v), %d reconciled", b, err, len(f.sync.reconciled))
	}
	var events []string
	for i, ev := range f.sync.ingested {
		events = append(events, ev.Name+" "+ev.UserID)
		var body map[string]any
		if err := json.Unmarshal(f.sync.bodies[i], &body); err != nil || body["source"] != "reportgate backfill" {
			t.Errorf("synthesized body %s (%v)", f.sync.bodies[i], err)
		}
	}
	if strings.Join(events, ",") != webhook.EventUserSuspension+" u007,"+webhook.EventUserDeleted+" gone" {
		t.Errorf("synthesized %v", events)
	}
	if _, err := f.store.Get(ctx, "gone"); !errors.Is(err, people.ErrNotFound) {
		t.Errorf("the person gone from Logto is still here (%v)", err)
	}

	f = setup(t)
	b, err = f.service(people.Config{Logto: fakeLogto{users: users}}).Backfill(ctx, people.BackfillOptions{StartPage: 2})
	if err != nil || b.Deleted != 0 || b.Seen != 50 {
		t.Errorf("resumed run %+v (%v): it has not seen everyone, so deletes nobody", b, err)
	}
	f = setup(t)
	b, err = f.service(people.Config{Logto: fakeLogto{users: users, failOn: 2}}).Backfill(ctx, people.BackfillOptions{})
	if err == nil || b.Page != 2 || b.Deleted != 0 {
		t.Errorf("run failing on page 2: %+v (%v), want the error and page 2 to resume from", b, err)
	}
}

// TestBackfillDeletesEveryMissingPerson: people gone from Logto are all
// deleted, however many pages of records they span (deleting while paging
// by offset would skip the records that move up into a page already read).
func TestBackfillDeletesEveryMissingPerson(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	gone := make([]people.Person, people.MaxListLimit+5)
	for i := range gone {
		gone[i] = people.Person{ID: fmt.Sprintf("gone%04d", i)}
	}
	if err := f.store.UpsertMany(ctx, gone); err != nil {
		t.Fatal(err)
	}
	b, err := f.service(people.Config{Logto: fakeLogto{}}).Backfill(ctx, people.BackfillOptions{})
	if err != nil || b.Deleted != len(gone) {
		t.Errorf("backfill %+v (%v), want %d deleted", b, err, len(gone))
	}
	if left, n, err := f.store.Find(ctx, "", 10, 0); err != nil || n != 0 {
		t.Errorf("%d people gone from Logto are still here, e.g. %v (%v)", n, left, err)
	}
}

// changingLogto serves Logto's user list by offset, as the Management API
// does, and runs between (after page 1) once: the tenant changes while the
// backfill walks it.
type changingLogto struct {
	mu      sync.Mutex
	users   []webhook.User
	between func(l *changingLogto)
	done    bool
}

func (l *changingLogto) ListUsers(_ context.Context, page, size int) ([]webhook.User, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if page == 2 && !l.done {
		l.done = true
		l.between(l)
	}
	from := min((page-1)*size, len(l.users))
	return slices.Clone(l.users[from:min(from+size, len(l.users))]), len(l.users), nil
}

func (l *changingLogto) GetUser(_ context.Context, id string) (webhook.User, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return findUser(l.users, id)
}

// TestBackfillKeepsPeopleTheWalkMissedWhileLogtoChanged: Logto's user
// list is paged by offset, not a snapshot. A person deleted in Logto while
// the backfill walks it moves everyone after them up one place, so the
// first person of the next page is never seen; a person who signs up
// meanwhile (Logto lists newest first) lands on a page already read, while
// the webhook or their sign-in records them here. Neither may be deleted:
// the tombstone can never be lifted.
func TestBackfillKeepsPeopleTheWalkMissedWhileLogtoChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		between func(f *fixture) func(l *changingLogto)
		victim  string
	}{
		{"someone deleted in Logto meanwhile", func(f *fixture) func(l *changingLogto) {
			return func(l *changingLogto) { l.users = slices.Delete(l.users, 10, 11) } // u010 deleted in Logto
		}, "u100"},
		{"someone signed up meanwhile", func(f *fixture) func(l *changingLogto) {
			return func(l *changingLogto) {
				newcomer := webhook.User{ID: "new001"}
				l.users = append([]webhook.User{newcomer}, l.users...) // newest first
				// Their User.Created reached the app (or they signed in).
				if err := f.store.Upsert(ctx, people.Person{ID: "new001", Email: "new@example.com"}); err != nil {
					panic(err)
				}
			}
		}, "new001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var users []webhook.User
			var known []people.Person
			for i := range 150 {
				id := fmt.Sprintf("u%03d", i)
				users = append(users, webhook.User{ID: id})
				known = append(known, people.Person{ID: id, Email: id + "@example.com"})
				f.sync.states[id] = provision.State{Status: provision.StatusSynced}
			}
			if err := f.store.UpsertMany(ctx, known); err != nil {
				t.Fatal(err)
			}
			logto := &changingLogto{users: users, between: tc.between(f)}
			b, err := f.service(people.Config{Logto: logto}).Backfill(ctx, people.BackfillOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range f.sync.ingested {
				if ev.Name == webhook.EventUserDeleted && ev.UserID == tc.victim {
					t.Errorf("backfill (%+v) recorded User.Deleted for %s, who is alive in Logto", b, tc.victim)
				}
			}
			if _, err := f.store.Get(ctx, tc.victim); err != nil {
				t.Errorf("the record of %s, alive in Logto, was deleted: %v", tc.victim, err)
			}
		})
	}
}

// TestBackfillKeepsPeopleLogtoCannotBeAskedAbout: a person missing from
// the walk is deleted only on Logto's word that they are gone; when Logto
// cannot be asked they are kept and the run says so.
func TestBackfillKeepsPeopleLogtoCannotBeAskedAbout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if err := f.store.Upsert(ctx, people.Person{ID: "gone", Email: "gone@example.com"}); err != nil {
		t.Fatal(err)
	}
	logto := fakeLogto{getErr: errors.New("logto: 503")}
	b, err := f.service(people.Config{Logto: logto}).Backfill(ctx, people.BackfillOptions{})
	if err == nil || b.Deleted != 0 || b.Unconfirmed != 1 {
		t.Errorf("backfill %+v (%v), want nobody deleted, one unconfirmed and an error", b, err)
	}
	if len(f.sync.ingested) != 0 {
		t.Errorf("synthesized %+v while Logto could not be asked", f.sync.ingested)
	}
	if _, err := f.store.Get(ctx, "gone"); err != nil {
		t.Errorf("the record was deleted though Logto never said the person was gone: %v", err)
	}
}

func TestFindInLogtoMatchesTheEmailExactly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var users []webhook.User
	for i := range 120 {
		users = append(users, webhook.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("p%d@example.com", i)})
	}
	svc := f.service(people.Config{Logto: fakeLogto{users: users}})
	if p, err := svc.FindInLogto(context.Background(), "P110@example.com"); err != nil || p.ID != "u110" {
		t.Errorf("FindInLogto(P110) = %+v (%v), want u110 from the second page", p, err)
	}
	if _, err := svc.FindInLogto(context.Background(), "p1@example"); err == nil {
		t.Error("a part of an email matched")
	}
}

// TestEraseTxErasesTheRecordAndTheAuditSubject: erasure in the
// tombstone's transaction takes the record and its sign-up count, and
// reaches the audit trail (and the access requests after it).
func TestEraseTxErasesTheRecordAndTheAuditSubject(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.Upsert(ctx, people.Person{ID: "u1", Email: "una@example.com", RegisteredAt: f.now}); err != nil {
		t.Fatal(err)
	}
	trail := audit.New(f.db, 0, nil)
	if err := trail.Record(ctx, audit.Entry{ActorID: audit.ActorSystem, Action: audit.RoleGranted, SubjectID: "u1",
		SubjectName: "una@example.com", Role: "viewer", Detail: "by Una's request"}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.InTx(ctx, func(tx *sql.Tx) error { return people.EraseTx(ctx, tx, "u1") }); err != nil {
		t.Fatal(err)
	}
	entries, _, err := trail.List(ctx, audit.Filter{Person: "u1"}, 0, 0)
	if err != nil || len(entries) != 1 || entries[0].SubjectName != "" || entries[0].Detail != "" {
		t.Errorf("entries after erasure %+v (%v), want one with no name or detail", entries, err)
	}
	if _, err := f.store.Get(ctx, "u1"); !errors.Is(err, people.ErrNotFound) {
		t.Errorf("record after erasure: %v, want not found", err)
	}
	if days, err := f.store.SignupsByDay(ctx, f.now, f.now); err != nil || days[0].Total != 0 {
		t.Errorf("sign-ups after erasure %+v (%v), want none", days, err)
	}
}

// failingAssign is a Permit that refuses every assignment.
type failingAssign struct{ *fakePermit }

func (failingAssign) AssignRole(context.Context, string, string) error {
	return errors.New("permit: 503")
}

// TestGrantFromCommandLineIsAudited: the command line's grant is recorded
// with its outcome, success or failure.
func TestGrantFromCommandLineIsAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logto := fakeLogto{users: []webhook.User{{ID: "u1", Email: "una@example.com"}}}
	f := newFixture(t)
	f.permit.roles["u1"] = []string{"admin"}
	p, err := f.service(people.Config{Logto: logto}).GrantFromCommandLine(ctx, "una@example.com", "viewer")
	if err != nil || p.ID != "u1" || !slices.Equal(f.permit.roles["u1"], []string{"viewer"}) {
		t.Fatalf("grant: %+v (%v), Permit roles %v, want only viewer", p, err, f.permit.roles["u1"])
	}
	if e := <-f.trail; e.ActorID != audit.ActorCLI || e.Action != audit.RoleGranted || e.SubjectID != "u1" || e.Role != "viewer" {
		t.Errorf("audit entry %+v, want the CLI granting viewer to u1", e)
	}

	svc := people.New(people.Config{Store: f.store, Permit: failingAssign{f.permit}, Trail: f.trail, Logto: logto})
	if _, err := svc.GrantFromCommandLine(ctx, "una@example.com", "admin"); err == nil {
		t.Fatal("a grant Permit refused succeeded")
	}
	if e := <-f.trail; e.Action != audit.RoleChangeFailed || e.Role != "admin" {
		t.Errorf("audit entry %+v, want a failed change to admin", e)
	}
	if _, err := svc.GrantFromCommandLine(ctx, "nobody@example.com", "admin"); err == nil || len(f.trail) != 0 {
		t.Errorf("grant to an unknown email: %v, %d audit entries; want an error and none", err, len(f.trail))
	}
}

func authIdentity(id string) auth.Identity {
	return auth.Identity{Subject: id, Email: id + "@example.com"}
}

// TestRoleChangeDoesNotHoldUpWebhookIngest: an admin's role change runs
// under the role lock and makes its Permit calls inside that transaction.
// Its record writes check the person's tombstone; were that read to lock
// the user_sync row, a webhook batch updating the admin's profile would
// wait for the Permit calls (and every delivery of the batch with it,
// against Logto's 10 s timeout). PostgreSQL only: SQLite has one writer.
func TestRoleChangeDoesNotHoldUpWebhookIngest(t *testing.T) {
	db := databasetest.Open(t, database.Postgres)
	ctx := context.Background()
	store := people.NewStore(db, nil)
	prov := realSync(t, db, nil)
	const admin = "roleadmin001"
	body, ev := delivery(t, webhook.EventUserCreated, admin, time.Now().Add(-2*time.Hour))
	if _, err := prov.Ingest(ctx, body, ev); err != nil {
		t.Fatal(err)
	}
	if err := store.Upsert(ctx, people.Person{ID: admin, Email: admin + "@example.com", Name: "Admin"}); err != nil {
		t.Fatal(err)
	}

	held, release, roleDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		roleDone <- store.WithRoleLock(ctx, func(tx *people.RoleTx) error {
			if err := tx.SetRoles(ctx, admin, []string{"admin"}); err != nil {
				return err
			}
			close(held)
			<-release // the Permit calls of the change
			return nil
		})
	}()
	<-held
	ingested := make(chan error, 1)
	go func() {
		body, ev := delivery(t, webhook.EventUserCreated, admin, time.Now().Add(-time.Hour))
		_, err := prov.Ingest(ctx, body, ev)
		ingested <- err
	}()
	select {
	case err := <-ingested:
		if err != nil {
			t.Errorf("ingest: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("a webhook about the admin waited over 3 s for the role change's Permit calls")
	}
	close(release)
	if err := <-roleDone; err != nil {
		t.Fatal(err)
	}
}
