package people_test

import (
	"context"
	"strings"
	"testing"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
	"reportgate/internal/testkit/standin"
)

const permitKey = "permit_key_test"

// recordingDirectory notes the order of role writes.
type recordingDirectory struct {
	people.PermitRoles
	calls []string
}

func (r *recordingDirectory) AssignRole(ctx context.Context, key, role string) error {
	r.calls = append(r.calls, "assign "+role)
	return r.PermitRoles.AssignRole(ctx, key, role)
}

func (r *recordingDirectory) UnassignRole(ctx context.Context, key, role string) error {
	r.calls = append(r.calls, "unassign "+role)
	return r.PermitRoles.UnassignRole(ctx, key, role)
}

// TestGrantSetsTheRole: grant replaces whatever the person held in the
// tenant, assigning before removing, and the local snapshot follows.
func TestGrantSetsTheRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pm := standin.StartPermit(t, permit.Config{APIKey: permitKey, Schema: standin.DefaultSchema(t)})
	client, err := permitdir.New(permitdir.Config{APIKey: permitKey, APIURL: pm.URL})
	if err != nil {
		t.Fatal(err)
	}
	users := people.NewStore(databasetest.Open(t, database.SQLite), nil)
	ada := people.Person{ID: "u_ada", Email: "ada@example.com", Name: "Ada"}
	if err := users.Upsert(ctx, people.Person{ID: ada.ID, Email: ada.Email, Name: ada.Name}); err != nil {
		t.Fatal(err)
	}
	if err := client.SyncUser(ctx, ada.ID, ada.Email, ada.Name); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"analyst", "admin"} {
		if err := client.AssignRole(ctx, ada.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := users.SetRoles(ctx, ada.ID, []string{"admin", "analyst"}); err != nil {
		t.Fatal(err)
	}

	dir := &recordingDirectory{PermitRoles: client}
	if err := people.New(people.Config{Store: users, Permit: dir}).SetOnlyRole(ctx, ada, "viewer"); err != nil {
		t.Fatal(err)
	}
	if held, err := client.AssignedRoles(ctx, ada.ID); err != nil || strings.Join(held, ",") != "viewer" {
		t.Errorf("roles in Permit after grant viewer: %v (%v), want only viewer", held, err)
	}
	if len(dir.calls) == 0 || dir.calls[0] != "assign viewer" {
		t.Errorf("writes %v: the new role must be assigned first", dir.calls)
	}
	if got, err := users.Get(ctx, ada.ID); err != nil || strings.Join(got.Roles, ",") != "viewer" {
		t.Errorf("local snapshot %v (%v), want viewer", got.Roles, err)
	}
	// Someone not recorded here yet: Permit is set, the snapshot waits.
	bo := people.Person{ID: "u_bo", Email: "bo@example.com"}
	if err := people.New(people.Config{Store: users, Permit: client}).SetOnlyRole(ctx, bo, "analyst"); err != nil {
		t.Fatalf("grant to a person not recorded here: %v", err)
	}
}
