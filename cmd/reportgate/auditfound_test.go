package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"reportgate/internal/audit"
	"reportgate/internal/database"
	"reportgate/internal/devstack"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
)

// TestSignInAuditsRolesChangedInPermit: a role granted and one removed in
// Permit itself, outside reportgate, are recorded by the system when the
// person next signs in.
func TestSignInAuditsRolesChangedInPermit(t *testing.T) {
	d, env, db, id := devWithAnalystSignedIn(t)
	trail := audit.New(db, 0, nil)
	found := func() []audit.Entry {
		entries, _, err := trail.List(context.Background(), audit.Filter{Person: id, Actor: audit.ActorSystem}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []audit.Entry
		for _, e := range entries {
			if strings.HasPrefix(e.Detail, "found ") {
				out = append(out, e)
			}
		}
		return out
	}
	// The first sign-in has no earlier snapshot to compare with.
	users := people.NewStore(db, nil)
	eventually(t, 10*time.Second, "the first role snapshot", func() bool {
		u, err := users.Get(context.Background(), id)
		return err == nil && !u.RolesCheckedAt.IsZero()
	})
	if got := found(); len(got) != 0 {
		t.Fatalf("first sign-in recorded %+v", got)
	}

	dir, err := permitdir.New(permitdir.Config{APIKey: env["PERMIT_API_KEY"], APIURL: env["PERMIT_API_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := dir.AssignRole(ctx, id, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := dir.UnassignRole(ctx, id, "analyst"); err != nil {
		t.Fatal(err)
	}
	newPerson(t).signIn(d, "analyst@example.com")
	eventually(t, 10*time.Second, "entries for the roles changed in Permit", func() bool { return len(found()) == 2 })
	got := found()
	actions := map[string]string{}
	for _, e := range got {
		actions[e.Action] = e.Role
	}
	if actions[audit.RoleGranted] != "admin" || actions[audit.RoleRemoved] != "analyst" {
		t.Errorf("entries = %+v, want admin found granted and analyst found removed", got)
	}
}

// devWithAnalystSignedIn starts dev, signs the analyst in and opens dev's
// database (closed at the end of the test). It returns dev's settings and
// the analyst's Logto id too.
func devWithAnalystSignedIn(t *testing.T) (*devInstance, map[string]string, *database.DB, string) {
	t.Helper()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	if home := newPerson(t).signIn(d, "analyst@example.com"); !home.Has("user-name") {
		t.Fatal("analyst not signed in")
	}
	secrets, err := devstack.LoadSecrets(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	env := secrets.Settings(dataDir, d.appURL, d.logtoURL, d.permitURL)
	db, err := database.Open(context.Background(), env["REPORTGATE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return d, env, db, userID(t, d, dataDir, "analyst@example.com")
}
