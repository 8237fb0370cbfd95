package people_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"reportgate/internal/people"
	"reportgate/internal/webhook"
)

func TestLabelNamesAPerson(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    people.Person
		want string
	}{
		{people.Person{ID: "u1", Email: "una@example.com", Name: "Una"}, "una@example.com"},
		{people.Person{ID: "u1", Name: "Una"}, "Una"},
		{people.Person{ID: "u1"}, "u1"},
	} {
		if got := tc.p.Label(); got != tc.want {
			t.Errorf("%+v.Label() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// fakeSessions counts and ends sessions from a map.
type fakeSessions map[string]int

func (f fakeSessions) CountActive(_ context.Context, ids []string) (map[string]int, error) {
	out := map[string]int{}
	for _, id := range ids {
		out[id] = f[id]
	}
	return out, nil
}

func (f fakeSessions) RevokeUser(_ context.Context, id string) (int, error) {
	n := f[id]
	delete(f, id)
	return n, nil
}

// TestServiceReadsRecordsAndSessions: what /admin/users reads goes to the
// records and the sessions, and a Service built before its sync uses the
// one set later.
func TestServiceReadsRecordsAndSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, p := range []people.Person{{ID: "u1", Email: "una@example.com", Name: "Una"}, {ID: "u2", Email: "bo@example.com"}} {
		if err := f.store.Upsert(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Permit too: SignedIn below refreshes the role snapshot in the
	// background, and that goroutine may outlive the test.
	svc := people.New(people.Config{Store: f.store, Permit: f.permit, Sessions: fakeSessions{"u1": 2}})
	svc.UseSync(f.sync)
	if found, total, err := svc.Find(ctx, "una", 10, 0); err != nil || total != 1 || found[0].ID != "u1" {
		t.Errorf("Find(una) = %v, %d (%v)", found, total, err)
	}
	if p, err := svc.Get(ctx, "u2"); err != nil || p.Email != "bo@example.com" {
		t.Errorf("Get(u2) = %+v (%v)", p, err)
	}
	if names, err := svc.Names(ctx, []string{"u1", "nobody"}); err != nil || len(names) != 1 || names["u1"].Name != "Una" {
		t.Errorf("Names = %v (%v)", names, err)
	}
	err := svc.WithRoleLock(ctx, func(tx *people.RoleTx) error { return tx.SetRoles(ctx, "u1", []string{"admin"}) })
	if got, _ := svc.Get(ctx, "u1"); err != nil || !slices.Equal(got.Roles, []string{"admin"}) {
		t.Errorf("roles set under the lock: %v (%v)", got.Roles, err)
	}
	if n, err := svc.CountSessions(ctx, []string{"u1", "u2"}); err != nil || n["u1"] != 2 || n["u2"] != 0 {
		t.Errorf("CountSessions = %v (%v)", n, err)
	}
	if n, err := svc.EndSessions(ctx, "u1"); err != nil || n != 2 {
		t.Errorf("EndSessions(u1) = %d (%v), want 2", n, err)
	}
	svc.Forget("u1") // no decision cache: nothing to forget, and no panic
	if err := svc.SignedIn(ctx, authIdentity("u3")); err != nil || len(f.sync.reconciled) != 1 {
		t.Errorf("sign-in through the sync set later: %v, reconciled %v", err, f.sync.reconciled)
	}
}

// faultyPermit fails the call named in fail.
type faultyPermit struct {
	*fakePermit
	fail string
}

func (p faultyPermit) err(call string) error {
	if p.fail == call {
		return errors.New("permit: 503 on " + call)
	}
	return nil
}

func (p faultyPermit) SyncUser(ctx context.Context, key, email, name string) error {
	if err := p.err("SyncUser"); err != nil {
		return err
	}
	return p.fakePermit.SyncUser(ctx, key, email, name)
}

func (p faultyPermit) AssignRole(ctx context.Context, key, role string) error {
	if err := p.err("AssignRole"); err != nil {
		return err
	}
	return p.fakePermit.AssignRole(ctx, key, role)
}

func (p faultyPermit) UnassignRole(ctx context.Context, key, role string) error {
	if err := p.err("UnassignRole"); err != nil {
		return err
	}
	return p.fakePermit.UnassignRole(ctx, key, role)
}

func (p faultyPermit) AssignedRoles(ctx context.Context, key string) ([]string, error) {
	if err := p.err("AssignedRoles"); err != nil {
		return nil, err
	}
	return p.fakePermit.AssignedRoles(ctx, key)
}

// TestSetOnlyRoleNeverLeavesLessAccess: whichever Permit call fails, the
// person keeps at least what they had and the snapshot is not rewritten.
func TestSetOnlyRoleNeverLeavesLessAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, call := range []string{"SyncUser", "AssignRole", "AssignedRoles", "UnassignRole"} {
		f := newFixture(t)
		if err := f.store.Upsert(ctx, people.Person{ID: "u1", Email: "una@example.com"}); err != nil {
			t.Fatal(err)
		}
		if err := f.store.SetRoles(ctx, "u1", []string{"admin"}); err != nil {
			t.Fatal(err)
		}
		f.permit.roles["u1"] = []string{"admin"}
		svc := people.New(people.Config{Store: f.store, Permit: faultyPermit{f.permit, call}})
		if err := svc.SetOnlyRole(ctx, people.Person{ID: "u1", Email: "una@example.com"}, "viewer"); err == nil {
			t.Errorf("%s failing: SetOnlyRole succeeded", call)
		}
		if !slices.Contains(f.permit.roles["u1"], "admin") {
			t.Errorf("%s failing: Permit roles %v, the old role was removed", call, f.permit.roles["u1"])
		}
		if got, _ := f.store.Get(ctx, "u1"); !slices.Equal(got.Roles, []string{"admin"}) {
			t.Errorf("%s failing: snapshot %v, want it untouched", call, got.Roles)
		}
	}
}

// TestLifecycleFailuresAreReported: what cannot be recorded is an error or
// a warning, never a half-made record.
func TestLifecycleFailuresAreReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(people.Config{})
	if err := svc.SignedIn(ctx, authIdentity("")); err == nil || len(f.sync.reconciled) != 0 {
		t.Errorf("sign-in with no subject: %v, reconciled %v; want an error and no sync", err, f.sync.reconciled)
	}
	svc.UserChanged(ctx, webhook.User{}) // logged, not recorded
	if _, total, err := f.store.Find(ctx, "", 10, 0); err != nil || total != 0 {
		t.Errorf("records after a sync of nobody: %d (%v)", total, err)
	}
	if err := svc.MarkSynced(ctx, []people.Person{{Email: "no-id@example.com"}}); err == nil || len(f.sync.marked) != 0 {
		t.Errorf("marking a person with no id: %v, marked %v", err, f.sync.marked)
	}
}
