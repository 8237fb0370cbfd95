package main

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/demo"
	"reportgate/internal/devstack"
	"reportgate/internal/logtoapi"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
)

// TestDevSeedsHistoryInAllThreePlaces starts dev with the history, checks
// the report, the Logto stand-in and the Permit stand-in agree, restarts it
// to see nothing added, and starts another without it.
func TestDevSeedsHistoryInAllThreePlaces(t *testing.T) {
	dataDir := t.TempDir()
	d := startDev(t, dataDir, "--seed-history=true")
	secrets, err := devstack.LoadSecrets(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	settings, err := config.Load(config.FromMap(secrets.Settings(dataDir, d.appURL, d.logtoURL, d.permitURL)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	p := newPerson(t)
	p.signIn(d, "analyst@example.com")
	report := p.get(d.appURL + "/reports?range=90")
	total, _ := strconv.Atoi(report.TestID("report-total").Text())
	// The history plus the demo accounts (registered today).
	if total < demo.HistoryPeople || total > demo.HistoryPeople+len(devstack.DemoAccounts()) {
		t.Fatalf("90-day report shows %d sign-ups, want about %d", total, demo.HistoryPeople)
	}

	logtoAPI, err := logtoapi.FromSettings(settings.Logto)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := permitdir.FromSettings(settings.Permit)
	if err != nil {
		t.Fatal(err)
	}
	seeded := map[string]time.Time{} // Logto id → createdAt
	for page := 1; ; page++ {
		users, _, err := logtoAPI.ListUsers(ctx, page, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if strings.HasSuffix(u.Email, "@"+demo.HistoryDomain) {
				seeded[u.ID] = u.CreatedAt
			}
		}
		if len(users) < 100 {
			break
		}
	}
	if len(seeded) != demo.HistoryPeople {
		t.Fatalf("Logto stand-in has %d history people, want %d", len(seeded), demo.HistoryPeople)
	}

	db, err := database.Open(ctx, settings.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	records := people.NewStore(db, nil)
	checked := 0
	for id, createdAt := range seeded {
		if checked == 25 { // a sample: each check is a Permit API call
			break
		}
		checked++
		rec, err := records.Get(ctx, id)
		if err != nil {
			t.Fatalf("app database lacks %s: %v", id, err)
		}
		if !rec.RegisteredAt.Equal(createdAt) {
			t.Errorf("%s registered %s in the app, %s in Logto", id, rec.RegisteredAt, createdAt)
		}
		roles, err := dir.AssignedRoles(ctx, id)
		if err != nil || len(roles) != 1 || len(rec.Roles) != 1 || roles[0] != rec.Roles[0] {
			t.Errorf("%s: Permit roles %v (%v), app snapshot %v", id, roles, err, rec.Roles)
		}
	}
	db.Close()

	// backfill sees them as synced: nothing to queue for any of them.
	t.Chdir(t.TempDir()) // no stray ./.env
	env := secrets.Settings(dataDir, d.appURL, d.logtoURL, d.permitURL)
	var out strings.Builder
	if err := run(ctx, []string{"backfill", "--dry-run"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("backfill --dry-run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "would queue 0 sync jobs") {
		t.Errorf("backfill --dry-run on the seeded history:\n%s", out.String())
	}

	// A restart adds nobody.
	d.stop()
	d = startDev(t, dataDir, "--seed-history=true")
	p = newPerson(t)
	p.signIn(d, "analyst@example.com")
	again, _ := strconv.Atoi(p.get(d.appURL + "/reports?range=90").TestID("report-total").Text())
	if again != total {
		t.Errorf("after a restart the report shows %d, want %d", again, total)
	}
	d.stop()

	// Turned off: none of them.
	off := startDev(t, t.TempDir(), "--seed-history=false")
	p = newPerson(t)
	p.signIn(off, "analyst@example.com")
	if n, _ := strconv.Atoi(p.get(off.appURL + "/reports?range=90").TestID("report-total").Text()); n > len(devstack.DemoAccounts()) {
		t.Errorf("with --seed-history=false the report shows %d sign-ups", n)
	}
}
